import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { type Clock, systemClock } from '../../src/core/clock.js';
import { UserError } from '../../src/core/errors.js';
import type { GroupSettings } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import { connectWithRetry } from '../../src/core/upstream.js';
import { settle } from '../support/fake-clock.js';
import { FakeRuntime, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { closeServer, echoThrough, freePort, listenLocal, openSocket, payload, readAll, sha256, startEchoServer } from '../support/net.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { maxHeld?: number; settings?: Partial<GroupSettings>; upstreamPort?: number } = {}) {
  const runtime = new FakeRuntime();
  runtime.add('g', 'web');
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld: options.maxHeld ?? 100 });
  const group = proxy.group('g', { ...SETTINGS, ...options.settings });
  const upstreamPort = options.upstreamPort ?? (await freePort());
  const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: 'localhost', port: upstreamPort }) }, group);
  cleanups.push(() => proxy.shutdown(0));
  return { runtime, logger, proxy, group, listener, port: listener.port, upstreamPort };
}

describe('Listener on loopback sockets', () => {
  it('delivers every byte a client sent while held, in order (4 MiB through an echo server)', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const { runtime, port, group } = await setup({ upstreamPort: echo.port });
    const start = gate();
    runtime.startGate = start.promise;
    const data = payload(4 * 1024 * 1024);
    const echoed = echoThrough(port, data);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(group.state, 'Starting');
    assert.equal(echo.connections(), 0, 'nothing reaches the upstream while the group starts');
    start.open();
    const result = await echoed;
    assert.equal(result.length, data.length);
    assert.equal(sha256(result), sha256(data));
  });

  it('a slow client gets every byte of a fast upstream intact', async () => {
    const data = payload(8 * 1024 * 1024, 3);
    const source = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      socket.end(data);
    });
    const upstreamPort = await listenLocal(source);
    cleanups.push(() => closeServer(source));
    const { port } = await setup({ upstreamPort });
    const socket = await openSocket(port);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.pause();
      setTimeout(() => socket.resume(), 1); // a client that reads slowly
    });
    await new Promise((resolve) => socket.once('end', resolve));
    socket.destroy();
    const received = Buffer.concat(chunks);
    assert.equal(received.length, data.length);
    assert.equal(sha256(received), sha256(data));
  });

  it('a client that stops reading gets all 24 MiB intact once it reads again (backpressure through the upstream reader)', async () => {
    const data = payload(24 * 1024 * 1024, 5);
    const source = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      let offset = 0;
      const more = (): void => {
        while (offset < data.length) {
          const ok = socket.write(data.subarray(offset, offset + 4096));
          offset += 4096;
          if (!ok) {
            socket.once('drain', more);
            return;
          }
        }
        socket.end();
      };
      more();
    });
    const upstreamPort = await listenLocal(source);
    cleanups.push(() => closeServer(source));
    const { port } = await setup({ upstreamPort });
    const socket = await openSocket(port);
    socket.pause(); // a client that stops reading, so the proxy's writes to it back up
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = readAll(socket);
    socket.resume();
    const received = (await result).data;
    socket.destroy();
    assert.equal(received.length, data.length);
    assert.equal(sha256(received), sha256(data));
  });

  it('a server that speaks first is heard: bytes the upstream sends before the splice are kept', async () => {
    const greeter = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write('220 hello\r\n');
      socket.on('data', (chunk: Buffer) => socket.end(chunk));
    });
    const upstreamPort = await listenLocal(greeter);
    cleanups.push(() => closeServer(greeter));
    const { port } = await setup({ upstreamPort });
    const socket = await openSocket(port);
    const result = readAll(socket);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.end('QUIT\r\n');
    assert.equal((await result).data.toString(), '220 hello\r\nQUIT\r\n');
  });

  it('retries an upstream that is running but not listening yet, then forwards', async () => {
    const upstreamPort = await freePort();
    const { port } = await setup({ upstreamPort });
    const pending = echoThrough(port, Buffer.from('hello'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const echo = await startEchoServer(upstreamPort);
    cleanups.push(() => closeServer(echo.server));
    assert.equal((await pending).toString(), 'hello');
  });

  it('a connection still connecting when the group stops is held again and woken with it, not left retrying', async () => {
    const upstreamPort = await freePort();
    const { runtime, port, group } = await setup({ upstreamPort });
    runtime.set('web', { phase: 'running' });
    await settle();
    assert.equal(group.state, 'Running');
    const pending = echoThrough(port, Buffer.from('after the restart'));
    await new Promise((resolve) => setTimeout(resolve, 100)); // retrying: nothing listens upstream
    runtime.set('web', { phase: 'stopped', exitCode: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(runtime.count('start web'), 1, 'the connection went back to waiting and woke the group');
    const echo = await startEchoServer(upstreamPort);
    cleanups.push(() => closeServer(echo.server));
    assert.equal((await pending).toString(), 'after the restart');
  });

  it('retries with a short, growing backoff: first retry within tens of milliseconds', async () => {
    const waits: number[] = [];
    const recording: Clock = {
      now: () => systemClock.now(),
      setTimer: (ms, callback) => {
        waits.push(ms);
        return systemClock.setTimer(ms, callback);
      },
    };
    const target = { host: '127.0.0.1', port: await freePort() };
    await assert.rejects(
      connectWithRetry(target, { deadline: systemClock.now() + 400, clock: recording, signal: new AbortController().signal }),
      /did not accept a connection in \d+ms \(\d+ attempt\(s\); last error: connect ECONNREFUSED/,
    );
    const first = waits[0] ?? Infinity;
    assert.ok(first < 50, `the first retry comes within tens of milliseconds: ${waits.join(',')}`);
    for (let i = 1; i < waits.length; i++) assert.ok((waits[i] ?? 0) >= (waits[i - 1] ?? 0), `backoff grows: ${waits.join(',')}`);
    assert.ok(waits.length >= 4, `several attempts within the deadline: ${waits.join(',')}`);
  });

  it('closes held connections promptly when the wake fails', async () => {
    const { runtime, port } = await setup();
    runtime.add('g', 'broken', { startError: new Error('Docker refused (HTTP 500): no such image') });
    const socket = await openSocket(port);
    const started = performance.now();
    const { data } = await readAll(socket);
    assert.equal(data.length, 0);
    assert.ok(performance.now() - started < 1000);
  });

  it('refuses connections past the hold limit, logs it, and answers the held ones after the wake', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const { runtime, port, logger } = await setup({ maxHeld: 3, upstreamPort: echo.port });
    const start = gate();
    runtime.startGate = start.promise;
    const results: Promise<Buffer>[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(echoThrough(port, Buffer.from(`client ${i}`)).catch(() => Buffer.from('refused')));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    start.open();
    const answers = (await Promise.all(results)).map((b) => b.toString());
    assert.deepEqual(answers.slice(0, 3), ['client 0', 'client 1', 'client 2']);
    assert.deepEqual(answers.slice(3).map((a) => a === 'refused' || a === ''), [true, true]);
    assert.equal(logger.matching(/warn \[g\] refused \d connection\(s\) on port \d+: 3 connections are already held/).length, 1);
  });

  it('forgets a client that resets its connection while held', async () => {
    const { runtime, port, group } = await setup();
    runtime.startGate = gate().promise;
    const socket = await openSocket(port);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(group.snapshot().held, 1);
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(group.snapshot().held, 0);
  });

  it('forwards half-close: the client ends its side and still gets the whole answer', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const { port } = await setup({ upstreamPort: echo.port });
    const data = payload(256 * 1024, 7);
    assert.equal(sha256(await echoThrough(port, data)), sha256(data));
  });

  it('a client that half-closes while held without sending anything is closed after the wake (regression: its end came before the splice)', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const { runtime, port, group, listener } = await setup({ upstreamPort: echo.port });
    const start = gate();
    runtime.startGate = start.promise;
    const socket = await openSocket(port);
    const result = readAll(socket);
    socket.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    start.open();
    assert.equal((await result).data.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(listener.connections, 0, 'the proxy closed its side');
    assert.equal(group.snapshot().open, 0);
  });

  it('closing a spliced client whose input had ended also closes its upstream (regression: the upstream was left open)', async () => {
    const seen: { socket: Socket | null } = { socket: null };
    const silent = createServer({ allowHalfOpen: true }, (socket) => {
      seen.socket = socket; // never answers, never ends
      socket.on('error', () => undefined);
    });
    const upstreamPort = await listenLocal(silent);
    cleanups.push(async () => {
      seen.socket?.destroy();
      await closeServer(silent);
    });
    const { proxy, port, listener } = await setup({ upstreamPort });
    const socket = await openSocket(port);
    socket.end();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const upstream = seen.socket;
    assert.ok(upstream !== null);
    const upstreamClosed = new Promise<void>((resolve) => upstream.once('close', () => {
      resolve();
    }));
    await proxy.shutdown(100);
    assert.equal(listener.connections, 0);
    // Writing to a connection the proxy destroyed draws a reset; to one it left open, nothing.
    const writer = setInterval(() => upstream.write('ping'), 20);
    try {
      await Promise.race([upstreamClosed, new Promise((_, reject) => setTimeout(() => {
        reject(new Error('the proxy left its upstream connection open'));
      }, 1000))]);
    } finally {
      clearInterval(writer);
    }
  });

  it('counts bytes both ways and open connections for status', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const { port, group } = await setup({ upstreamPort: echo.port });
    await echoThrough(port, Buffer.alloc(1000));
    await settle();
    const snapshot = group.snapshot();
    assert.equal(snapshot.bytesIn, 1000);
    assert.equal(snapshot.bytesOut, 1000);
    assert.equal(snapshot.open, 0);
  });

  it('on shutdown, held connections are closed at once and open ones get the grace period', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const runtime = new FakeRuntime();
    runtime.add('awake', 'web', { phase: 'running' });
    runtime.add('asleep', 'db');
    runtime.startGate = gate().promise;
    const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10 });
    cleanups.push(() => proxy.shutdown(0));
    const upstream = fixedUpstream({ host: '127.0.0.1', port: echo.port });
    const awake = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream }, proxy.group('awake', SETTINGS));
    const asleep = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream }, proxy.group('asleep', SETTINGS));
    await settle();
    const live = await openSocket(awake.port);
    const liveResult = readAll(live);
    live.write('before shutdown');
    const held = await openSocket(asleep.port);
    const heldResult = readAll(held);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const shutdownAt = performance.now();
    const shutdown = proxy.shutdown(2_000);
    await heldResult;
    assert.ok(performance.now() - shutdownAt < 500, 'the held connection is closed at once');
    live.end('after shutdown');
    await shutdown;
    assert.ok(performance.now() - shutdownAt < 1500, 'shutdown ends when the open connection does, not at the end of the grace');
    assert.equal((await liveResult).data.toString(), 'before shutdownafter shutdown');
  });

  it('reports a port in use as a user error that says what to do', async () => {
    const { port } = await setup();
    const runtime = new FakeRuntime();
    const other = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10 });
    const group = other.group('h', SETTINGS);
    cleanups.push(() => other.shutdown(0));
    await assert.rejects(other.listen({ port, bind: '127.0.0.1', upstream: fixedUpstream({ host: 'localhost', port: 1 }) }, group), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /cannot listen on 127\.0\.0\.1:\d+: it is already in use; stop what listens there or choose another port/);
      return true;
    });
  });

  it('listens on IPv4 and IPv6 when no bind address is given', async () => {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const runtime = new FakeRuntime();
    runtime.add('g', 'web', { phase: 'running' });
    const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10 });
    cleanups.push(() => proxy.shutdown(0));
    const listener = await proxy.listen({ port: 0, bind: undefined, upstream: fixedUpstream({ host: '127.0.0.1', port: echo.port }) }, proxy.group('g', SETTINGS));
    assert.equal((await echoThrough(listener.port, Buffer.from('v4'), '127.0.0.1')).toString(), 'v4');
    assert.equal((await echoThrough(listener.port, Buffer.from('v6'), '::1')).toString(), 'v6');
  });
});
