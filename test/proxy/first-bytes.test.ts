import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { readFirstBytes } from '../../src/core/first-bytes.js';
import { type ChunkSource, type Peer, SocketReader, STREAM_CHUNKS } from '../../src/core/socket-reader.js';
import { closeServer, listenLocal } from '../support/net.js';
import { until } from '../support/until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A connection as the listener has it (`peer`, read through `kind`'s reader)
 * and the far end (`remote`), which plays the client.
 */
async function connection(kind: 'own buffer' | 'node streams'): Promise<{ peer: Peer; remote: Socket }> {
  let remote: Socket | undefined;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    remote = socket;
    socket.on('error', () => undefined);
  });
  const port = await listenLocal(server);
  let reader: ChunkSource = STREAM_CHUNKS;
  let socket: Socket;
  if (kind === 'own buffer') {
    const own = new SocketReader();
    reader = own;
    socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true, onread: own.onread });
  } else {
    socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.pause();
  }
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  await until(() => remote !== undefined, 'the server accepted');
  cleanups.push(async () => {
    socket.destroy();
    remote?.destroy();
    await closeServer(server);
  });
  return { peer: { socket, reader }, remote: remote as Socket };
}

/** Attaches to `peer` and collects what it reads until it ends. */
function readAll(peer: Peer): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    peer.reader.attach(peer.socket, (chunk) => {
      chunks.push(Buffer.from(chunk));
      return { more: true, released: true };
    });
    const done = (): void => {
      resolve(Buffer.concat(chunks).toString());
    };
    if (peer.socket.readableEnded) done();
    else peer.socket.once('end', done);
  });
}

const upTo = (n: number) => (bytes: Buffer) => bytes.length >= n;

for (const kind of ['own buffer', 'node streams'] as const) {
  describe(`readFirstBytes, reading through ${kind}`, () => {
    it('stops when it has enough, and every byte, looked at or not, is still read in order', async () => {
      const { peer, remote } = await connection(kind);
      const looking = readFirstBytes(peer, { enough: upTo(6), limit: 1024, timeoutMs: 10_000, clock: systemClock });
      remote.write('GET');
      await new Promise((resolve) => setTimeout(resolve, 20));
      remote.write(' / HTTP/1.1\r\n');
      const first = await looking;
      assert.equal(first.end, 'enough');
      assert.ok(first.bytes.toString().startsWith('GET / '), first.bytes.toString());
      remote.end('Host: x\r\n\r\n');
      assert.equal(await readAll(first.client), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });

    it('says so when the client ends its side first, and keeps what it sent', async () => {
      const { peer, remote } = await connection(kind);
      const looking = readFirstBytes(peer, { enough: upTo(100), limit: 1024, timeoutMs: 10_000, clock: systemClock });
      remote.end('hi');
      const first = await looking;
      assert.equal(first.end, 'ended');
      assert.equal(first.bytes.toString(), 'hi');
      assert.equal(await readAll(first.client), 'hi');
    });

    it('gives up at the timeout on a silent client, which can still be read afterwards', async () => {
      const { peer, remote } = await connection(kind);
      const first = await readFirstBytes(peer, { enough: upTo(1), limit: 1024, timeoutMs: 50, clock: systemClock });
      assert.equal(first.end, 'timeout');
      assert.equal(first.bytes.length, 0);
      remote.end('late');
      assert.equal(await readAll(first.client), 'late');
    });

    it('stops at the limit', async () => {
      const { peer, remote } = await connection(kind);
      const looking = readFirstBytes(peer, { enough: () => false, limit: 4096, timeoutMs: 10_000, clock: systemClock });
      remote.write(Buffer.alloc(10_000, 'a'));
      const first = await looking;
      assert.equal(first.end, 'full');
      assert.ok(first.bytes.length >= 4096);
      remote.end();
      assert.equal((await readAll(first.client)).length, 10_000);
    });

    it('reports a client that closed', async () => {
      const { peer, remote } = await connection(kind);
      const looking = readFirstBytes(peer, { enough: upTo(1), limit: 1024, timeoutMs: 10_000, clock: systemClock });
      remote.resetAndDestroy();
      assert.equal((await looking).end, 'closed');
    });
  });
}
