import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { SLOW_READ } from '../../src/core/read-buffers.js';
import { type Delivery, EARLY_LIMIT, SocketReader } from '../../src/core/socket-reader.js';
import { settle } from '../support/fake-clock.js';
import { closeServer, listenLocal, payload, sha256 } from '../support/net.js';
import { until } from '../support/until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A connection read through `reader`, to a server that runs `serve` on its
 * side; `read()` is how many bytes the reader has taken from the socket.
 */
async function connected(serve: (socket: Socket) => void): Promise<{ socket: Socket; reader: SocketReader; read: () => number }> {
  const sockets: Socket[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    serve(socket);
  });
  const port = await listenLocal(server);
  const reader = new SocketReader();
  let read = 0;
  const onread = {
    buffer: reader.onread.buffer,
    callback: (bytes: number, buffer: Buffer): boolean => {
      read += bytes;
      return reader.onread.callback(bytes, buffer);
    },
  };
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true, onread });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  cleanups.push(async () => {
    socket.destroy();
    for (const s of sockets) s.destroy();
    await closeServer(server);
  });
  return { socket, reader, read: () => read };
}

/** A consumer that keeps copies of what it is given (the reader may reuse its buffer) and takes everything at once. */
function collector(): { chunks: Buffer[]; text: () => string; consume: (chunk: Buffer) => Delivery } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    text: () => Buffer.concat(chunks).toString(),
    consume: (chunk) => {
      chunks.push(Buffer.from(chunk));
      return { more: true, released: true };
    },
  };
}

describe('SocketReader.attach on a real connection', () => {
  it('hands over the bytes that arrived before it, in order, then the ones after', async () => {
    const { socket, reader, read } = await connected((server) => {
      server.write('one ');
      setImmediate(() => server.write('two '));
      server.on('data', (chunk: Buffer) => server.write(chunk)); // then an echo
    });
    await until(() => read() === 8, 'the reader has read the first eight bytes');
    const got = collector();
    reader.attach(socket, got.consume);
    assert.equal(got.text(), 'one two ', 'the early bytes come first, at attach');
    socket.write('three');
    await until(() => got.text().length === 13, 'bytes after attach arrive');
    assert.equal(got.text(), 'one two three');
    assert.ok(got.chunks.length >= 2, 'the early bytes were read apart from the later ones');
  });

  it('stops reading once it keeps EARLY_LIMIT bytes; the rest waits in the kernel and follows, intact', async () => {
    const data = payload(1024 * 1024, 9);
    const { socket, reader, read } = await connected((server) => server.end(data));
    await until(() => read() >= EARLY_LIMIT, 'the reader has kept its limit');
    const kept = read();
    await settle(); // loop turns in which a reader still reading would read on: the rest is already in the kernel
    assert.equal(read(), kept, 'no read past the limit');
    assert.ok(kept < EARLY_LIMIT + SLOW_READ, `kept ${kept} bytes: at most one read past the limit`);
    const got = collector();
    const ended = new Promise((resolve) => socket.once('end', resolve));
    reader.attach(socket, got.consume);
    await ended;
    const received = Buffer.concat(got.chunks);
    assert.equal(received.length, data.length);
    assert.equal(sha256(received), sha256(data));
  });

  it('keeps the bytes of a connection whose input ended before it: the end is seen first, the bytes are still handed over', async () => {
    const { socket, reader } = await connected((server) => server.end('last words'));
    await new Promise((resolve) => socket.once('end', resolve));
    const got = collector();
    reader.attach(socket, got.consume);
    assert.equal(got.text(), 'last words');
  });

  it('stops reading while the consumer pushes back, until the socket is resumed', async () => {
    const { socket, reader, read } = await connected((server) => server.end(payload(256 * 1024, 2)));
    let calls = 0;
    reader.attach(socket, () => {
      calls++;
      return { more: false, released: true };
    });
    await until(() => calls >= 1, 'the first chunk is handed over');
    const before = read();
    await settle(); // loop turns in which a reader still reading would read on: the rest is already in the kernel
    assert.equal(calls, 1, 'nothing more is handed over while the consumer pushes back');
    assert.equal(read(), before);
    socket.resume();
    await until(() => calls >= 2, 'reading goes on once resumed');
  });
});
