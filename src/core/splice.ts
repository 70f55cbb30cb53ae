import type { Socket } from 'node:net';
import type { ConnectionTracker } from './group.js';
import type { Peer } from './socket-reader.js';

/**
 * One direction: every chunk `from` reads is written to `to`, reading stops
 * while `to` pushes back and resumes on its 'drain', and the end of input
 * half-closes `to`. A chunk written at once releases the reader's buffer for
 * the next read.
 */
function pump(from: Peer, to: Socket, direction: 'in' | 'out', tracker: ConnectionTracker): void {
  const source = from.socket;
  from.reader.attach(source, (chunk) => {
    tracker.transferred(direction, chunk.length);
    if (to.destroyed || !to.writable) return { more: true, released: true };
    const more = to.write(chunk);
    return { more, released: to.writableLength === 0 };
  });
  to.on('drain', () => source.resume());
  const forwardEnd = (): void => {
    if (!to.destroyed && to.writable) to.end();
  };
  // A side that half-closed before the splice (a client while it was held) has already emitted 'end'.
  if (source.readableEnded) forwardEnd();
  else source.once('end', forwardEnd);
}

/**
 * Joins a client and its upstream: bytes flow both ways with backpressure,
 * half-close is forwarded, and an error or abort on one side ends the other.
 * Bytes either side sent before this call are delivered first.
 */
export function splice(client: Peer, upstream: Peer, tracker: ConnectionTracker): void {
  const a = client.socket;
  const b = upstream.socket;
  let open = 2;
  const onClose = (side: Socket, other: Socket) => (hadError: boolean): void => {
    // A side that closed after both its directions finished leaves the other to finish writing;
    // any other close (an error, a reset, a destroy) ends the other side too.
    if (hadError || !side.readableEnded || !side.writableFinished) other.destroy();
    if (--open === 0) tracker.closed();
  };
  a.on('error', ignore);
  b.on('error', ignore);
  a.once('close', onClose(a, b));
  b.once('close', onClose(b, a));
  tracker.established(() => {
    a.destroy();
    b.destroy();
  });
  pump(client, b, 'in', tracker);
  pump(upstream, a, 'out', tracker);
}

/** Errors end the socket, and its 'close' ends the other side; the listener logs the client's. */
function ignore(): void {
  // nothing: see onClose
}
