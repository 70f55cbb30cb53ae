import type { Clock } from './clock.js';
import { type Peer, withPrefix } from './socket-reader.js';

/**
 * Why the looking stopped: `enough` said so; `full` at the limit; the client
 * `ended` its side (it will send no more); `timeout`; or it `closed` the
 * connection altogether.
 */
export type FirstBytesEnd = 'enough' | 'full' | 'ended' | 'timeout' | 'closed';

export interface FirstBytes {
  readonly end: FirstBytesEnd;
  /** Everything the client sent until then, in order. */
  readonly bytes: Buffer;
  /** The same connection, reading `bytes` first: forward it as if nothing had been read. */
  readonly client: Peer;
}

export interface FirstBytesOptions {
  /** Called with all the bytes so far after each read: true stops looking. */
  readonly enough: (bytes: Buffer) => boolean;
  /** Stop looking once this many bytes arrived (a bound on what one connection costs before it is let in). */
  readonly limit: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/**
 * Reads the first bytes a client sends without losing any: to decide whether
 * a connection may wake its group (`--wake-on data`) or which group it asks
 * for (a name in a TLS ClientHello or an HTTP Host header). Nothing is
 * written to the client, and whatever happens, the bytes read stay with the
 * returned peer, ahead of the rest.
 */
export function readFirstBytes(client: Peer, options: FirstBytesOptions): Promise<FirstBytes> {
  const { socket, reader } = client;
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    let settled = false;
    /** Read through a function: callbacks set it, which narrowing does not see. */
    const isSettled = (): boolean => settled;
    const finish = (end: FirstBytesEnd): void => {
      if (settled) return;
      settled = true;
      stopWatching();
      timer.cancel();
      socket.off('end', onEnd);
      socket.off('close', onClose);
      resolve({ end, bytes: Buffer.concat(chunks, size), client: { socket, reader: withPrefix(chunks, reader) } });
    };
    const onEnd = (): void => {
      finish('ended');
    };
    const onClose = (): void => {
      finish('closed');
    };
    const timer = options.clock.setTimer(options.timeoutMs, () => {
      finish('timeout');
    });
    socket.once('end', onEnd);
    socket.once('close', onClose);
    // A watcher that is called at once (bytes kept before this call) may finish before `watch` returns.
    let stopWatching = (): void => undefined;
    const stop = reader.watch(socket, (chunk) => {
      if (settled) return false;
      chunks.push(chunk);
      size += chunk.length;
      if (options.enough(Buffer.concat(chunks, size))) finish('enough');
      else if (size >= options.limit) finish('full');
      return !settled;
    });
    if (isSettled()) stop();
    else stopWatching = stop;
    if (socket.destroyed) finish('closed');
    else if (socket.readableEnded) finish('ended');
  });
}
