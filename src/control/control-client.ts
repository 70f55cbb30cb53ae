import { request } from 'node:http';
import { errorCode, UserError } from '../core/errors.js';
import type { SleepResult, WakeProgress, WakeResult } from './control-api.js';
import type { StatusDocument } from './status-document.js';

/**
 * A proxy's control socket could not be used: `gone` (no such file), `stale`
 * (a file nobody answers on: its proxy was killed), `denied` (another user's).
 */
export class ControlUnavailableError extends Error {
  constructor(
    readonly reason: 'gone' | 'stale' | 'denied',
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'ControlUnavailableError';
  }
}

const UNAVAILABLE: Readonly<Record<string, ControlUnavailableError['reason']>> = { ENOENT: 'gone', ECONNREFUSED: 'stale', ENOTSOCK: 'stale', EACCES: 'denied', EPERM: 'denied' };

interface Reply {
  readonly status: number;
  readonly lines: AsyncIterable<string>;
}

function call(socketPath: string, method: string, path: string, signal?: AbortSignal): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, ...(signal === undefined ? {} : { signal }) }, (response) => {
      response.setEncoding('utf8');
      resolve({ status: response.statusCode ?? 0, lines: splitLines(response) });
    });
    req.once('error', (error) => {
      const reason = UNAVAILABLE[errorCode(error) ?? ''];
      if (reason === undefined) reject(error);
      else reject(new ControlUnavailableError(reason, `cannot use the control socket ${socketPath}: ${reason === 'denied' ? 'permission denied' : 'no proxy answers there'}`, { cause: error }));
    });
    req.end();
  });
}

async function* splitLines(stream: AsyncIterable<string>): AsyncIterable<string> {
  let pending = '';
  for await (const chunk of stream) {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') yield line;
      newline = pending.indexOf('\n');
    }
  }
  if (pending.trim() !== '') yield pending;
}

/**
 * The reply's JSON body. A 404 is an everyday race (the group was removed
 * between finding the proxy and asking it), so it is the user's kind of
 * error; any other failure is the proxy's bug.
 */
async function json<T>(reply: Reply, socketPath: string): Promise<T> {
  let text = '';
  for await (const line of reply.lines) text += line;
  const body = JSON.parse(text) as T & { error?: string };
  if (reply.status === 404) throw new UserError(`${body.error ?? 'not found'} (it changed while this command ran; see status)`);
  if (reply.status !== 200) throw new Error(`the proxy on ${socketPath} answered HTTP ${reply.status}: ${body.error ?? 'no message'}`);
  return body;
}

export async function fetchStatus(socketPath: string): Promise<StatusDocument> {
  return json<StatusDocument>(await call(socketPath, 'GET', '/v1/status'), socketPath);
}

export async function requestSleep(socketPath: string, group: string): Promise<SleepResult> {
  return json<SleepResult>(await call(socketPath, 'POST', `/v1/groups/${encodeURIComponent(group)}/sleep`), socketPath);
}

/** Asks the proxy to wake `group`, reporting each step; resolves with the outcome. */
export async function requestWake(
  socketPath: string,
  group: string,
  options: { readonly wait: boolean; readonly signal?: AbortSignal },
  onProgress: (progress: WakeProgress) => void,
): Promise<WakeResult> {
  const reply = await call(socketPath, 'POST', `/v1/groups/${encodeURIComponent(group)}/wake?wait=${String(options.wait)}`, options.signal);
  if (reply.status !== 200) return json<WakeResult>(reply, socketPath);
  for await (const line of reply.lines) {
    const message = JSON.parse(line) as ({ type: 'progress' } & WakeProgress) | ({ type: 'result' } & WakeResult);
    if (message.type === 'progress') onProgress(message);
    else return message;
  }
  return { ok: false, reason: 'the proxy closed the connection before the wake finished' };
}
