import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { takeOverAccepted, takeoverAvailable } from '../../src/core/take-over-accepted.js';
import { closeServer, listenLocal, openSocket, readAll } from '../support/net.js';
import { until } from '../support/until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that hands each accepted socket to `onAccept` (which returns the socket to close at the end), and a client connected to it. */
async function acceptOne(pauseOnConnect: boolean, onAccept: (accepted: Socket) => Socket | null): Promise<{ server: Server; client: Socket }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true, pauseOnConnect }, (accepted) => {
    const socket = onAccept(accepted);
    if (socket !== null) sockets.push(socket);
  });
  const port = await listenLocal(server);
  const client = await openSocket(port);
  cleanups.push(async () => {
    client.destroy();
    for (const socket of sockets) socket.destroy(); // half-open sockets stay open after the client's end
    await closeServer(server);
  });
  return { server, client };
}

describe('takeOverAccepted', () => {
  it('is available on this Node (a release that removes what it relies on fails here)', () => {
    assert.equal(takeoverAvailable, true);
  });

  it('moves a paused accepted connection to a socket that reads through our onread; writing, half-close and the server count work', async () => {
    const reads: string[] = [];
    let events = 0;
    const buffer = Buffer.alloc(1024);
    const onread = {
      buffer: () => buffer,
      callback: (bytes: number, into: Buffer): boolean => {
        reads.push(into.subarray(0, bytes).toString());
        return true;
      },
    };
    const accepted: { socket: Socket | null } = { socket: null };
    const { server, client } = await acceptOne(true, (socket) => {
      accepted.socket = takeOverAccepted(socket, onread);
      accepted.socket?.on('data', () => events++);
      return accepted.socket;
    });
    const received = readAll(client);
    client.write('hello');
    await until(() => reads.join('') === 'hello', 'the bytes arrive through onread');
    const socket = accepted.socket;
    assert.ok(socket !== null, 'the takeover happened');
    assert.equal(events, 0, 'no data event: the bytes did not go through the stream');
    const count = (): Promise<number> =>
      new Promise((resolve, reject) => {
        server.getConnections((error, n) => {
          if (error) reject(error);
          else resolve(n);
        });
      });
    assert.equal(await count(), 1, 'the server counts the new socket, once');
    const ended = new Promise((resolve) => socket.once('end', resolve));
    client.end();
    await ended; // half-close reaches the new socket; it stays writable (allowHalfOpen)
    socket.end('world');
    assert.equal((await received).data.toString(), 'world');
    await until(() => socket.destroyed, 'the socket closes once both sides ended');
    assert.equal(await count(), 0, 'the server forgot it');
  });

  it('leaves a socket it cannot take over as it was (its handle is already reading)', async () => {
    let result: Socket | null | undefined;
    const data: string[] = [];
    const { client } = await acceptOne(false, (accepted) => {
      result = takeOverAccepted(accepted, { buffer: Buffer.alloc(64), callback: () => true });
      accepted.on('data', (chunk: Buffer) => data.push(chunk.toString()));
      return accepted;
    });
    client.write('still mine');
    await until(() => data.join('') === 'still mine', 'the accepted socket still reads');
    assert.equal(result, null);
  });
});
