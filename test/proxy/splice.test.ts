import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { ConnectionTracker } from '../../src/core/group.js';
import { STREAM_CHUNKS } from '../../src/core/socket-reader.js';
import { splice } from '../../src/core/splice.js';
import { closeServer, listenLocal, openSocket, payload, readAll, sha256 } from '../support/net.js';
import { until } from '../support/until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A connected pair on loopback: `near` is the proxy's end, `far` the peer's. */
async function pair(): Promise<{ near: Socket; far: Socket }> {
  let near: Socket | null = null;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    near = socket;
  });
  const port = await listenLocal(server);
  const far = await openSocket(port);
  await until(() => near !== null, 'the connection is accepted');
  const accepted = near as unknown as Socket;
  cleanups.push(async () => {
    far.destroy();
    accepted.destroy();
    await closeServer(server);
  });
  return { near: accepted, far };
}

function tracker(): ConnectionTracker & { isClosed: () => boolean } {
  let closed = false;
  return { established: () => undefined, transferred: () => undefined, closed: () => (closed = true), isClosed: () => closed };
}

describe('splice', () => {
  it('half-closes, not closes, a side whose input ended while its output is still queued, so the queue is delivered', async () => {
    const client = await pair();
    const upstream = await pair();
    const clientReceived = readAll(client.far);
    client.far.pause(); // reads nothing for now
    client.far.end(); // the client's input is complete
    await new Promise((resolve) => client.near.once('end', resolve));
    // Output the proxy still has queued for the client: far more than the kernel takes while the client does not read.
    const queued = payload(64 * 1024 * 1024, 17);
    client.near.write(queued);
    assert.ok(client.near.writableLength > 0);
    const t = tracker();
    splice({ socket: client.near, reader: STREAM_CHUNKS }, { socket: upstream.near, reader: STREAM_CHUNKS }, t);
    upstream.far.end('tail'); // the upstream answers and ends: its end reaches a client whose output is queued
    await new Promise((resolve) => upstream.near.once('end', resolve));
    client.far.resume();
    const { data } = await clientReceived;
    assert.equal(data.length, queued.length + 4);
    assert.equal(sha256(data), sha256(Buffer.concat([queued, Buffer.from('tail')])));
    await until(() => t.isClosed(), 'both sides closed, the connection is done');
  });

  it('closing the side whose directions are both done leaves the other to deliver what is queued for it', async () => {
    const client = await pair();
    const upstream = await pair();
    const clientReceived = readAll(client.far);
    client.far.pause(); // reads nothing for now
    const queued = payload(64 * 1024 * 1024, 19);
    client.near.write(queued); // the answer the proxy still has queued for the client
    const t = tracker();
    splice({ socket: client.near, reader: STREAM_CHUNKS }, { socket: upstream.near, reader: STREAM_CHUNKS }, t);
    upstream.far.end(); // the upstream is done first: the client's side is half-closed behind the queue
    await new Promise((resolve) => upstream.near.once('end', resolve));
    const upstreamClosed = new Promise((resolve) => upstream.near.once('close', resolve));
    client.far.end(); // then the client: the upstream's both directions are done, so it is closed
    await upstreamClosed;
    client.far.resume();
    const { data } = await clientReceived;
    assert.equal(data.length, queued.length);
    assert.equal(sha256(data), sha256(queued));
  });

  it('closes both sides once both directions are done, and ends nothing early', async () => {
    const client = await pair();
    const upstream = await pair();
    const t = tracker();
    splice({ socket: client.near, reader: STREAM_CHUNKS }, { socket: upstream.near, reader: STREAM_CHUNKS }, t);
    const atUpstream = readAll(upstream.far);
    const atClient = readAll(client.far);
    client.far.end('question');
    assert.equal((await atUpstream).data.toString(), 'question');
    upstream.far.end('answer');
    assert.equal((await atClient).data.toString(), 'answer');
    await until(() => client.near.destroyed && upstream.near.destroyed && t.isClosed(), 'both sides closed');
  });
});
