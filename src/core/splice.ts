import type { Socket } from 'node:net';
import type { ConnectionTracker } from './group.js';
import { delivery, type Peer } from './socket-reader.js';

/** One connection's two sockets: how their ends and closes affect each other. */
class Joint {
  private open = 2;
  /** The side closed on purpose once both its directions were done (see `forwardEnd`); at most one can be. */
  private done: Socket | null = null;

  constructor(private readonly tracker: ConnectionTracker) {}

  /** A side closed: any close but a finished one (an error, a reset, a destroy) ends the other side too. */
  closed(side: Socket, other: Socket, hadError: boolean): void {
    const finished = side === this.done || (side.readableEnded && side.writableFinished);
    if (hadError || !finished) other.destroy();
    if (--this.open === 0) this.tracker.closed();
  }

  /**
   * Forwards the end of `from`'s input to `to`. When `to`'s own input has
   * ended too and nothing is queued for it, both its directions are done:
   * closing it sends the FIN as end() would (data still in the kernel is
   * delivered first), one shutdown(2) and a round of stream events cheaper,
   * as haproxy does. Otherwise it is half-closed, and may still send.
   */
  forwardEnd(to: Socket): void {
    if (to.destroyed || !to.writable) return;
    if (to.readableEnded && to.writableLength === 0) {
      this.done = to;
      to.destroy();
    } else {
      to.end();
    }
  }
}

/**
 * One direction: every chunk `from` reads is written to `to`, reading stops
 * while `to` pushes back and resumes on its 'drain', and the end of input is
 * forwarded. A chunk written at once releases the reader's buffer for the
 * next read.
 */
function pump(from: Peer, to: Socket, direction: 'in' | 'out', joint: Joint, tracker: ConnectionTracker): void {
  const { socket: source, reader } = from;
  reader.attach(source, (chunk) => {
    tracker.transferred(direction, chunk.length);
    if (to.destroyed || !to.writable) return delivery(true, true);
    const more = to.write(chunk);
    return delivery(more, to.writableLength === 0);
  });
  to.on('drain', () => {
    reader.resume(source);
  });
  // A side that half-closed before the splice (a client while it was held) has already emitted 'end'.
  if (source.readableEnded) joint.forwardEnd(to);
  else source.once('end', () => {
    joint.forwardEnd(to);
  });
}

/**
 * Joins a client and its upstream: bytes flow both ways with backpressure,
 * half-close is forwarded, and an error or abort on one side ends the other.
 * Bytes either side sent before this call are delivered first.
 */
export function splice(client: Peer, upstream: Peer, tracker: ConnectionTracker): void {
  const a = client.socket;
  const b = upstream.socket;
  const joint = new Joint(tracker);
  a.on('error', ignore);
  b.on('error', ignore);
  a.once('close', (hadError: boolean) => {
    joint.closed(a, b, hadError);
  });
  b.once('close', (hadError: boolean) => {
    joint.closed(b, a, hadError);
  });
  tracker.established(() => {
    a.destroy();
    b.destroy();
  });
  pump(client, b, 'in', joint, tracker);
  pump(upstream, a, 'out', joint, tracker);
}

/** Errors end the socket, and its 'close' ends the other side; the listener logs the client's. */
function ignore(): void {
  // nothing: see Joint.closed
}
