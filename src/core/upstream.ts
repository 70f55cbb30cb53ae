import { connect, type Socket } from 'node:net';
import { abortable } from './abortable.js';
import { type Clock, sleep } from './clock.js';
import { formatHostPort, type HostPort } from './address.js';
import { describeError, errorCode } from './errors.js';
import { SocketReader } from './socket-reader.js';

/** The upstream never accepted a connection before the deadline. */
export class UpstreamUnreachableError extends Error {
  constructor(
    readonly target: HostPort,
    waitedMs: number,
    attempts: number,
    override readonly cause: unknown,
  ) {
    super(
      `upstream ${formatHostPort(target)} did not accept a connection in ${Math.round(waitedMs)}ms ` +
        `(${attempts} attempt(s); last error: ${describeError(cause)})`,
      { cause },
    );
    this.name = 'UpstreamUnreachableError';
  }
}

/** Retry delays: the first retry comes within tens of milliseconds, then they double up to a cap. */
export const FIRST_RETRY_MS = 10;
export const MAX_RETRY_MS = 500;
/** The longest one connect attempt may take (a lost SYN is retried by the kernel only after a second, then three). */
export const MAX_ATTEMPT_MS = 5000;

/** A connected upstream socket, and the reader its bytes arrive through. */
export interface UpstreamConnection {
  readonly socket: Socket;
  readonly reader: SocketReader;
}

/**
 * Opens one TCP connection. The host name is resolved at every call, so a
 * container that got a new address since the last attempt is found.
 */
export function connectOnce(target: HostPort, timeoutMs: number, signal: AbortSignal): Promise<UpstreamConnection> {
  return abortable(signal, (resolve, reject) => {
    const reader = new SocketReader();
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, onread: reader.onread });
    const timer = setTimeout(() => {
      fail(new Error(`connect to ${formatHostPort(target)} timed out after ${timeoutMs}ms`));
    }, timeoutMs);
    const settle = (): void => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('connect', succeed);
    };
    function fail(error: Error): void {
      settle();
      socket.destroy();
      reject(error);
    }
    function succeed(): void {
      settle();
      resolve({ socket, reader });
    }
    socket.once('error', fail);
    socket.once('connect', succeed);
    return () => {
      settle();
      socket.destroy();
    };
  });
}

/**
 * Connects to the upstream, retrying with a short, growing backoff until
 * `deadline` (a clock time): a container that runs is not yet listening.
 */
export async function connectWithRetry(
  target: HostPort,
  options: { readonly deadline: number; readonly clock: Clock; readonly signal: AbortSignal },
): Promise<UpstreamConnection> {
  const { clock, signal, deadline } = options;
  const started = clock.now();
  let delay = FIRST_RETRY_MS;
  let cause: unknown = null;
  for (let attempt = 1; ; attempt++) {
    const budget = Math.max(1, Math.min(deadline - clock.now(), MAX_ATTEMPT_MS));
    try {
      return await connectOnce(target, budget, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // An attempt the deadline cut short and that timed out says less than the refusal or failed lookup before it.
      if (cause === null || budget >= MAX_ATTEMPT_MS || errorCode(error) !== undefined) cause = error;
      if (clock.now() + delay >= deadline) throw new UpstreamUnreachableError(target, clock.now() - started, attempt, cause);
    }
    await sleep(clock, delay, signal);
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}
