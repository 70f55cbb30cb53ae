import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { describeError, errorCode, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type ControlApi, UnknownGroupError } from './control-api.js';
import { currentUid, dockerGroupId, socketsIn } from './control-paths.js';

const GROUP_ACTION = /^\/v1\/groups\/([^/]+)\/(wake|sleep)$/;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(`${JSON.stringify(body)}\n`);
}

async function handle(api: ControlApi, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://control');
  if (request.method === 'GET' && url.pathname === '/v1/status') {
    sendJson(response, 200, api.status());
    return;
  }
  const action = GROUP_ACTION.exec(url.pathname);
  if (request.method !== 'POST' || action === null) {
    sendJson(response, 404, { error: `no such endpoint: ${request.method ?? ''} ${url.pathname}` });
    return;
  }
  const group = decodeURIComponent(action[1] ?? '');
  try {
    if (action[2] === 'sleep') {
      sendJson(response, 200, await api.sleep(group));
      return;
    }
    const gone = new AbortController();
    response.once('close', () => {
      gone.abort(new Error('the client went away'));
    });
    const wait = url.searchParams.get('wait') !== 'false';
    const write = (line: unknown): void => {
      if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (!response.writableEnded) response.write(`${JSON.stringify(line)}\n`);
    };
    const result = await api.wake(group, { wait }, (progress) => {
      write({ type: 'progress', ...progress });
    }, gone.signal);
    write({ type: 'result', ...result });
    response.end();
  } catch (error) {
    if (error instanceof UnknownGroupError) sendJson(response, 404, { error: error.message });
    else if (!response.headersSent) sendJson(response, 500, { error: describeError(error) });
    else response.end();
  }
}

/** True when something answers on the socket: a live proxy, not a file left by a killed one. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * The running proxy's control endpoint: HTTP on a unix socket that only its
 * owner (and the docker group, where there is one) may use. Nothing listens
 * on TCP.
 */
export class ControlServer {
  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static async start(path: string, api: ControlApi, logger: Logger, options: { readonly explicit: boolean }): Promise<ControlServer> {
    const dir = dirname(path);
    const gid = dockerGroupId();
    const cannot = (cause: unknown): UserError =>
      new UserError(`cannot create the control socket ${path}: ${describeError(cause)}; ${options.explicit ? 'choose another --control-socket' : 'set --control-socket to a writable path'}`, { cause });
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
    } catch (cause) {
      throw cannot(cause);
    }
    for (const other of socketsIn(dir).sockets.filter((p) => p !== path)) {
      if (!(await answers(other))) rmSync(other, { force: true }); // left behind by a proxy that was killed
    }
    if (await answers(path)) {
      throw new UserError(`control socket ${path} is in use by another running proxytainer; give this one another --control-socket`);
    }
    rmSync(path, { force: true });
    // Node checks request timeouts every 30 s by default; on a local, owner-only socket every 10 minutes will do,
    // so an idle proxy does not wake up for it.
    const server = createServer({ connectionsCheckingInterval: 600_000 }, (request, response) => {
      handle(api, request, response).catch((error: unknown) => {
        logger.error(`control request failed: ${describeError(error)}`);
      });
    });
    const previousUmask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      throw cannot(cause);
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(path, 0o660);
    if (gid !== undefined) {
      try {
        chownSync(path, currentUid(), gid);
        chownSync(dir, currentUid(), gid);
      } catch (error) {
        if (errorCode(error) !== 'EPERM') throw error;
      }
    }
    server.on('error', (error) => {
      logger.error(`control socket ${path}: ${describeError(error)}`);
    });
    logger.debug(`control socket at ${path}`);
    return new ControlServer(path, server);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
    rmSync(this.path, { force: true });
  }
}
