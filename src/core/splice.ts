import type { Socket } from 'node:net';
import type { ConnectionTracker } from './group.js';

/** Copies one direction with backpressure; the end of input half-closes the output. */
function pump(from: Socket, to: Socket, direction: 'in' | 'out', tracker: ConnectionTracker): void {
  from.on('data', (chunk: Buffer) => {
    tracker.transferred(direction, chunk.length);
    if (to.destroyed || !to.writable) return;
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  const forwardEnd = (): void => {
    if (!to.destroyed && to.writable) to.end();
  };
  // A client that half-closed while held, without sending data, has already emitted 'end'.
  if (from.readableEnded) forwardEnd();
  else from.once('end', forwardEnd);
}

/**
 * Joins a client and its upstream: bytes flow both ways with backpressure,
 * half-close is forwarded, and an error or abort on one side ends the other.
 * Bytes the client sent before this call (still buffered in its socket) are
 * delivered first.
 */
export function splice(client: Socket, upstream: Socket, tracker: ConnectionTracker): void {
  let open = 2;
  const onClose = (side: Socket, other: Socket) => (hadError: boolean): void => {
    // A side that closed after both its directions finished leaves the other to finish writing;
    // any other close (an error, a reset, a destroy) ends the other side too.
    if (hadError || !side.readableEnded || !side.writableFinished) other.destroy();
    if (--open === 0) tracker.closed();
  };
  for (const socket of [client, upstream]) {
    socket.on('error', () => undefined);
  }
  client.once('close', onClose(client, upstream));
  upstream.once('close', onClose(upstream, client));
  tracker.established(() => {
    client.destroy();
    upstream.destroy();
  });
  pump(client, upstream, 'in', tracker);
  pump(upstream, client, 'out', tracker);
}
