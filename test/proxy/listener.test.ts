import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { type Clock, systemClock, type Timer } from '../../src/core/clock.js';
import { UserError } from '../../src/core/errors.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeRuntime, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { closeServer, echoThrough, freePort, listenLocal, openSocket, payload, readAll, sha256, startEchoServer } from '../support/net.js';
import { until } from '../support/until.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Records the retry waits (short timers) a clock is asked for, so a test can wait for the Nth retry. */
function recording<C extends Clock>(clock: C): C & { retries: number[] } {
  const retries: number[] = [];
  return Object.assign(Object.create(clock) as C, {
    retries,
    setTimer(ms: number, callback: () => void): Timer {
      if (ms <= 1000) retries.push(ms);
      return clock.setTimer(ms, callback);
    },
  });
}

/** The most a loopback connection pair can hold in kernel buffers: two receive and two send buffers at their maximum. */
function kernelBufferBound(): number {
  const max = (file: string): number => Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]);
  return 2 * (max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem'));
}

/** Writes `chunk` over and over while the socket takes it; `stop()` ends the stream once what is queued is out. */
function writeUntilStopped(socket: Socket, chunk: Buffer): { written: () => number; blocked: () => boolean; stop: () => void } {
  let written = 0;
  let blocked = false;
  let stopped = false;
  const more = (): void => {
    blocked = false;
    while (!stopped) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        blocked = true;
        socket.once('drain', more);
        return;
      }
    }
  };
  more();
  return {
    written: () => written,
    blocked: () => blocked,
    stop: () => {
      stopped = true;
      socket.end();
    },
  };
}

/** Waits until a writer has been blocked with no progress for a while; fails at once if it ever wrote more than `bound`. */
async function untilStalled(writer: { written: () => number; blocked: () => boolean }, bound: number, what: string): Promise<void> {
  let last = -1;
  let since = performance.now();
  await until(() => {
    const now = writer.written();
    if (now > bound) throw new Error(`${what}: ${now} bytes written, more than the ${bound} the kernel buffers can hold: the proxy buffers without bound`);
    if (now !== last || !writer.blocked()) {
      last = now;
      since = performance.now();
      return false;
    }
    return performance.now() - since > 300;
  }, `${what} is held back`);
}

/** The sha256 of `chunk` repeated `count` times. */
function repeatedHash(chunk: Buffer, count: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) hash.update(chunk);
  return hash.digest('hex');
}

for (const takeover of [true, false]) {
  // undefined: the default, the takeover where this Node allows it.
  const takeOverAccepted = takeover ? undefined : false;
  const reads = takeover ? 'into buffers of its own' : "through Node's streams";

  async function setup(options: { maxHeld?: number; settings?: Partial<GroupSettings>; upstreamPort?: number; clock?: Clock } = {}) {
    const runtime = new FakeRuntime();
    runtime.add('g', 'web');
    const logger = new MemoryLogger();
    const clock = options.clock ?? systemClock;
    const proxy = new Proxy({ runtime, clock, logger, maxHeld: options.maxHeld ?? 100, takeOverAccepted });
    const group = proxy.group('g', { ...SETTINGS, ...options.settings });
    const upstreamPort = options.upstreamPort ?? (await freePort());
    const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: 'localhost', port: upstreamPort }) }, group);
    cleanups.push(() => proxy.shutdown(0));
    return { runtime, logger, proxy, group, listener, port: listener.port, upstreamPort };
  }

  describe(`Listener on loopback sockets, reading connections ${reads}`, () => {
    it(`reads accepted connections ${reads}`, async () => {
      const echo = await startEchoServer();
      cleanups.push(() => closeServer(echo.server));
      const { runtime, listener, group } = await setup({ upstreamPort: echo.port });
      runtime.set('web', { phase: 'running' });
      await until(() => group.state === 'Running', 'the group runs');
      assert.equal((await echoThrough(listener.port, Buffer.from('hello'))).toString(), 'hello');
      // On Node 20 to 25 the takeover works; a Node release that breaks it must fail here, not quietly cost CPU.
      assert.equal(listener.clientReads, takeover ? 'own buffer' : 'node streams');
    });

    it('delivers every byte a client sent while held, in order (4 MiB through an echo server)', async () => {
      const echo = await startEchoServer();
      cleanups.push(() => closeServer(echo.server));
      const { runtime, port, group } = await setup({ upstreamPort: echo.port });
      const start = gate();
      runtime.startGate = start.promise;
      const data = payload(4 * 1024 * 1024);
      const echoed = echoThrough(port, data);
      await until(() => group.snapshot().held === 1 && runtime.count('start web') === 1, 'the connection is held and the group starting');
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

    it('a client that half-closed and reads slowly still gets the whole answer (its side is closed only once everything is out)', async () => {
      const data = payload(8 * 1024 * 1024, 13);
      const answerer = createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => undefined);
        socket.resume();
        socket.once('end', () => socket.end(data)); // answers once the question is complete
      });
      const upstreamPort = await listenLocal(answerer);
      cleanups.push(() => closeServer(answerer));
      const { port } = await setup({ upstreamPort });
      const socket = await openSocket(port);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        socket.pause();
        setTimeout(() => socket.resume(), 1); // a client that reads slowly
      });
      socket.end('question');
      await new Promise((resolve) => socket.once('end', resolve));
      const received = Buffer.concat(chunks);
      assert.equal(received.length, data.length);
      assert.equal(sha256(received), sha256(data));
    });

    it('a client that stops reading holds a fast upstream back: the proxy buffers a bounded amount, then delivers every byte', async () => {
      const chunk = payload(64 * 1024, 5);
      let writer: ReturnType<typeof writeUntilStopped> | null = null;
      const source = createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => undefined);
        writer = writeUntilStopped(socket, chunk);
      });
      const upstreamPort = await listenLocal(source);
      cleanups.push(() => closeServer(source));
      const { port } = await setup({ upstreamPort });
      const client = await openSocket(port);
      client.pause(); // a client that stops reading
      await until(() => writer !== null, 'the upstream is connected');
      const upstream = writer as unknown as ReturnType<typeof writeUntilStopped>;
      await untilStalled(upstream, kernelBufferBound() + 16 * 1024 * 1024, 'the upstream');
      const received = readAll(client);
      upstream.stop();
      client.resume();
      const { data } = await received;
      client.destroy();
      assert.equal(data.length, upstream.written());
      assert.equal(sha256(data), repeatedHash(chunk, upstream.written() / chunk.length));
    });

    it('an upstream that stops reading holds a fast client back: the proxy buffers a bounded amount, then delivers every byte', async () => {
      let upstream: Socket | null = null;
      const sink = createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => undefined);
        socket.pause(); // an upstream that stops reading
        upstream = socket;
      });
      const upstreamPort = await listenLocal(sink);
      cleanups.push(async () => {
        upstream?.destroy(); // half-open: the sink never ends its side
        await closeServer(sink);
      });
      const { port } = await setup({ upstreamPort });
      const client = await openSocket(port);
      const chunk = payload(64 * 1024, 6);
      const writer = writeUntilStopped(client, chunk);
      await until(() => upstream !== null, 'the upstream is connected');
      const server = upstream as unknown as Socket;
      await untilStalled(writer, kernelBufferBound() + 16 * 1024 * 1024, 'the client');
      const received = readAll(server);
      writer.stop();
      server.resume();
      const { data } = await received;
      client.destroy();
      assert.equal(data.length, writer.written());
      assert.equal(sha256(data), repeatedHash(chunk, writer.written() / chunk.length));
    });

    it('a server that speaks first is heard', async () => {
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
      await new Promise((resolve) => socket.once('data', resolve)); // the greeting, before the client says anything
      socket.end('QUIT\r\n');
      assert.equal((await result).data.toString(), '220 hello\r\nQUIT\r\n');
    });

    it('retries an upstream that is running but not listening yet, then forwards', async () => {
      const clock = recording(systemClock);
      const { port, upstreamPort } = await setup({ clock });
      const pending = echoThrough(port, Buffer.from('hello'));
      await until(() => clock.retries.length >= 2, 'two connect attempts were refused');
      const echo = await startEchoServer(upstreamPort);
      cleanups.push(() => closeServer(echo.server));
      assert.equal((await pending).toString(), 'hello');
    });

    it('a connection still connecting when the group stops is held again and woken with it, not left retrying', async () => {
      const clock = recording(systemClock);
      const { runtime, port, group, upstreamPort } = await setup({ clock });
      runtime.set('web', { phase: 'running' });
      await until(() => group.state === 'Running', 'the group runs');
      const pending = echoThrough(port, Buffer.from('after the restart'));
      await until(() => clock.retries.length >= 1, 'the connection retries: nothing listens upstream');
      runtime.set('web', { phase: 'stopped', exitCode: 0 });
      await until(() => runtime.count('start web') === 1, 'the connection went back to waiting and woke the group');
      const echo = await startEchoServer(upstreamPort);
      cleanups.push(() => closeServer(echo.server));
      assert.equal((await pending).toString(), 'after the restart');
    });

    it('a connection held again after its group stopped gets the whole start timeout at the next wake (regression: its first deadline was reused)', async () => {
      const clock = recording(new FakeClock());
      const { runtime, port, group, upstreamPort, logger } = await setup({ clock, settings: { startTimeoutMs: 10_000 } });
      runtime.set('web', { phase: 'running' });
      await until(() => group.state === 'Running', 'the group runs');
      let closed = false;
      const pending = echoThrough(port, Buffer.from('after the second wake')).finally(() => (closed = true));
      await until(() => clock.retries.length >= 1, 'the connection retries: nothing listens upstream');
      const stop = gate();
      runtime.stopGate = stop.promise;
      void group.sleep('test');
      await until(() => group.snapshot().held === 1, 'the connection is held again while the group stops');
      await clock.advance(30_000); // a stop that takes longer than the start timeout
      const retriesBefore = clock.retries.length;
      stop.open();
      await until(() => closed || (group.state === 'Running' && clock.retries.length > retriesBefore), 'the connection retries after the second wake, or is closed');
      assert.equal(closed, false, `the connection was closed at the second wake: ${logger.lines.join('; ')}`);
      const echo = await startEchoServer(upstreamPort);
      cleanups.push(() => closeServer(echo.server));
      await clock.advance(1_000);
      assert.equal((await pending).toString(), 'after the second wake');
    });

    it('an upstream that goes away while the group runs is retried, not refused (the direct path falls back)', async () => {
      const clock = recording(systemClock);
      const echo = await startEchoServer();
      const { runtime, port, group } = await setup({ upstreamPort: echo.port, clock });
      runtime.set('web', { phase: 'running' });
      await until(() => group.state === 'Running', 'the group runs');
      assert.equal((await echoThrough(port, Buffer.from('first'))).toString(), 'first');
      await closeServer(echo.server);
      const pending = echoThrough(port, Buffer.from('second'));
      await until(() => clock.retries.length >= 1, 'the connection retries the upstream');
      const again = await startEchoServer(echo.port);
      cleanups.push(() => closeServer(again.server));
      assert.equal((await pending).toString(), 'second');
    });

    it('closes held connections as soon as the wake fails, with the reason logged', async () => {
      const { runtime, port, logger } = await setup({ settings: { startTimeoutMs: 600_000 } });
      runtime.add('g', 'broken', { startError: new Error('Docker refused (HTTP 500): no such image') });
      const socket = await openSocket(port);
      const { data } = await readAll(socket); // the start timeout is ten minutes: only the failure closes it
      assert.equal(data.length, 0);
      assert.equal(logger.matching(/wake failed: could not start broken: Docker refused \(HTTP 500\): no such image \(closing 1 held connection/).length, 1);
    });

    it('refuses connections past the hold limit, logs it, and answers the held ones after the wake', async () => {
      const echo = await startEchoServer();
      cleanups.push(() => closeServer(echo.server));
      const { runtime, port, logger, group } = await setup({ maxHeld: 3, upstreamPort: echo.port });
      const start = gate();
      runtime.startGate = start.promise;
      const results: Promise<Buffer>[] = [];
      for (let i = 0; i < 5; i++) {
        const result = echoThrough(port, Buffer.from(`client ${i}`)).catch(() => Buffer.from('refused'));
        results.push(result);
        if (i < 3) await until(() => group.snapshot().held === i + 1, `client ${i} is held`);
        else await result;
      }
      start.open();
      const answers = (await Promise.all(results)).map((b) => b.toString());
      assert.deepEqual(answers.slice(0, 3), ['client 0', 'client 1', 'client 2']);
      assert.deepEqual(answers.slice(3).map((a) => a === 'refused' || a === ''), [true, true]);
      assert.equal(logger.matching(/warn \[g\] refused \d connection\(s\) on port \d+: 3 connections are already held/).length, 1);
    });

    it('forgets a client that resets its connection while held', async () => {
      const { runtime, port, group } = await setup({ settings: { startTimeoutMs: 600_000 } }); // only the reset can let it go
      runtime.startGate = gate().promise;
      const socket = await openSocket(port);
      await until(() => group.snapshot().held === 1, 'the connection is held');
      socket.resetAndDestroy();
      await until(() => group.snapshot().held === 0, 'the held connection is forgotten');
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
      await until(() => group.snapshot().held === 1, 'the connection is held');
      await new Promise<void>((resolve) => socket.end(resolve));
      await settle(); // the FIN is in the proxy's receive queue: a few loop turns and the proxy has read it
      start.open();
      assert.equal((await result).data.length, 0);
      await until(() => listener.connections === 0, 'the proxy closed its side');
      assert.equal(group.snapshot().open, 0);
    });

    it('closing a spliced client whose input had ended also closes its upstream (regression: the upstream was left open)', async () => {
      const seen: { socket: Socket | null } = { socket: null };
      const ended = gate();
      const silent = createServer({ allowHalfOpen: true }, (socket) => {
        seen.socket = socket; // never answers, never ends
        socket.on('error', () => undefined);
        socket.once('end', ended.open);
        socket.resume();
      });
      const upstreamPort = await listenLocal(silent);
      cleanups.push(async () => {
        seen.socket?.destroy();
        await closeServer(silent);
      });
      const { proxy, port, listener } = await setup({ upstreamPort });
      const socket = await openSocket(port);
      socket.end();
      await ended.promise; // the proxy forwarded the client's end
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
        }, 5000))]);
      } finally {
        clearInterval(writer);
      }
    });

    it('counts bytes both ways and open connections for status', async () => {
      const echo = await startEchoServer();
      cleanups.push(() => closeServer(echo.server));
      const { port, group } = await setup({ upstreamPort: echo.port });
      await echoThrough(port, Buffer.alloc(1000));
      await until(() => group.snapshot().open === 0, 'the connection is closed');
      const snapshot = group.snapshot();
      assert.equal(snapshot.bytesIn, 1000);
      assert.equal(snapshot.bytesOut, 1000);
    });

    it('on shutdown, held connections are closed at once and open ones get the grace period', async () => {
      const echo = await startEchoServer();
      cleanups.push(() => closeServer(echo.server));
      const runtime = new FakeRuntime();
      runtime.add('awake', 'web', { phase: 'running' });
      runtime.add('asleep', 'db');
      runtime.startGate = gate().promise;
      const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10, takeOverAccepted });
      cleanups.push(() => proxy.shutdown(0));
      const upstream = fixedUpstream({ host: '127.0.0.1', port: echo.port });
      const awakeGroup = proxy.group('awake', SETTINGS);
      const asleepGroup = proxy.group('asleep', SETTINGS);
      const awake = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream }, awakeGroup);
      const asleep = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream }, asleepGroup);
      await until(() => awakeGroup.state === 'Running', 'the awake group runs');
      const live = await openSocket(awake.port);
      const liveResult = readAll(live);
      live.write('before shutdown');
      const held = await openSocket(asleep.port);
      const heldResult = readAll(held);
      await until(() => awakeGroup.snapshot().open === 1 && asleepGroup.snapshot().held === 1, 'one connection is spliced and one held');
      const grace = 30_000;
      const shutdownAt = performance.now();
      const shutdown = proxy.shutdown(grace);
      await heldResult; // closed while the open connection still runs: not at the end of the grace
      live.end('after shutdown');
      await shutdown;
      assert.ok(performance.now() - shutdownAt < grace / 2, 'shutdown ends when the open connection does, not at the end of the grace');
      assert.equal((await liveResult).data.toString(), 'before shutdownafter shutdown');
    });

    it('reports a port in use as a user error that says what to do', async () => {
      const { port } = await setup();
      const runtime = new FakeRuntime();
      const other = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10, takeOverAccepted });
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
      const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10, takeOverAccepted });
      cleanups.push(() => proxy.shutdown(0));
      const listener = await proxy.listen({ port: 0, bind: undefined, upstream: fixedUpstream({ host: '127.0.0.1', port: echo.port }) }, proxy.group('g', SETTINGS));
      assert.equal((await echoThrough(listener.port, Buffer.from('v4'), '127.0.0.1')).toString(), 'v4');
      assert.equal((await echoThrough(listener.port, Buffer.from('v6'), '::1')).toString(), 'v6');
    });
  });
}

describe('Listener when the takeover of accepted connections fails at run time', () => {
  async function setupWith(takeOverAccepted: () => never | null) {
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const runtime = new FakeRuntime();
    runtime.add('g', 'web');
    const logger = new MemoryLogger();
    const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld: 10, takeOverAccepted });
    cleanups.push(() => proxy.shutdown(0));
    const group = proxy.group('g', SETTINGS);
    const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: echo.port }) }, group);
    return { runtime, logger, group, listener };
  }

  it('serves connections through Node\'s streams when the takeover is refused, reading them while held, and says so once', async () => {
    const { runtime, logger, group, listener } = await setupWith(() => null);
    const start = gate();
    runtime.startGate = start.promise;
    const data = payload(256 * 1024, 11);
    const first = echoThrough(listener.port, data);
    const leaving = await openSocket(listener.port);
    await until(() => group.snapshot().held === 2, 'both connections are held');
    leaving.resetAndDestroy();
    await until(() => group.snapshot().held === 1, 'a connection that resets while held is forgotten: it is being read');
    start.open();
    assert.equal(sha256(await first), sha256(data));
    assert.equal((await echoThrough(listener.port, Buffer.from('again'))).toString(), 'again');
    assert.equal(listener.clientReads, 'node streams');
    assert.equal(logger.matching(/warn \[g\] this Node does not let proxytainer read accepted connections into buffers of its own; reading connections through Node's streams/).length, 1);
  });

  it('closes the one connection whose takeover threw, and serves the next ones through Node\'s streams', async () => {
    const { runtime, logger, group, listener } = await setupWith(() => {
      throw new Error('internals changed');
    });
    runtime.set('web', { phase: 'running' });
    await until(() => group.state === 'Running', 'the group runs');
    const lost = await openSocket(listener.port);
    assert.equal((await readAll(lost)).data.length, 0);
    assert.equal((await echoThrough(listener.port, Buffer.from('next'))).toString(), 'next');
    assert.equal(logger.matching(/warn \[g\] taking over an accepted connection failed, so it was closed \(internals changed\)/).length, 1);
  });
});
