import type { Socket } from 'node:net';
import type { ConnectionTracker } from './group.js';
import type { UpstreamConnection } from './upstream.js';

/** Client to upstream, with backpressure; the end of input half-closes the output. */
function pumpFromClient(from: Socket, to: Socket, tracker: ConnectionTracker): void {
  from.on('data', (chunk: Buffer) => {
    tracker.transferred('in', chunk.length);
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

/** Upstream to client, through the upstream's reader: its buffer is reused while the client takes each chunk at once. */
function pumpFromUpstream({ socket: upstream, reader }: UpstreamConnection, client: Socket, tracker: ConnectionTracker): void {
  upstream.resume(); // flowing, so that the end of input is noticed
  reader.attach(upstream, (chunk) => {
    tracker.transferred('out', chunk.length);
    if (client.destroyed || !client.writable) return { more: true, released: true };
    const more = client.write(chunk);
    return { more, released: client.writableLength === 0 };
  });
  client.on('drain', () => upstream.resume());
  const forwardEnd = (): void => {
    if (!client.destroyed && client.writable) client.end();
  };
  if (upstream.readableEnded) forwardEnd();
  else upstream.once('end', forwardEnd);
}

/**
 * Joins a client and its upstream: bytes flow both ways with backpressure,
 * half-close is forwarded, and an error or abort on one side ends the other.
 * Bytes the client sent before this call (still buffered in its socket) are
 * delivered first.
 */
export function splice(client: Socket, connection: UpstreamConnection, tracker: ConnectionTracker): void {
  const upstream = connection.socket;
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
  pumpFromClient(client, upstream, tracker);
  pumpFromUpstream(connection, client, tracker);
}
