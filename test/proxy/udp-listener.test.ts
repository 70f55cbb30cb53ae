import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { UserError } from '../../src/core/errors.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { AddressList } from '../../src/core/address-list.js';
import { Proxy } from '../../src/core/proxy.js';
import type { UdpSettings } from '../../src/core/udp-settings.js';
import { FakeRuntime, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { payload, sha256 } from '../support/net.js';
import { openUdpPorts, UdpClient, UdpEcho } from '../support/udp.js';
import { eventually } from '../support/wait.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { upstreamPort: number; settings?: Partial<GroupSettings>; udp?: Partial<UdpSettings>; host?: string; bind?: string }) {
  const runtime = new FakeRuntime();
  runtime.add('g', 'web');
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld: 100, ...(options.udp === undefined ? {} : { udp: options.udp }) });
  const group = proxy.group('g', { ...SETTINGS, ...options.settings });
  const upstream = fixedUpstream({ host: options.host ?? '127.0.0.1', port: options.upstreamPort });
  const listener = await proxy.listen({ port: 0, protocol: 'udp', bind: options.bind ?? '127.0.0.1', upstream }, group);
  cleanups.push(() => proxy.shutdown(0));
  return { runtime, logger, proxy, group, listener, port: listener.port };
}

async function echo(options: Parameters<typeof UdpEcho.start>[0] = {}): Promise<UdpEcho> {
  const server = await UdpEcho.start(options);
  cleanups.push(() => {
    server.close();
  });
  return server;
}

async function client(port: number, host = '127.0.0.1'): Promise<UdpClient> {
  const c = await UdpClient.connect(port, host);
  cleanups.push(() => {
    c.close();
  });
  return c;
}

const texts = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('UdpListener on loopback sockets', () => {
  it('holds every datagram sent while the group starts, then delivers them in order, each client getting only its own replies', async () => {
    const server = await echo();
    const { runtime, port, group, listener } = await setup({ upstreamPort: server.port });
    const start = gate();
    runtime.startGate = start.promise;
    const clients = await Promise.all([client(port), client(port), client(port)]);
    for (let i = 0; i < 100; i++) for (const [n, c] of clients.entries()) c.send(`c${n}-${i}`);
    await eventually(() => listener.counters().held === 300, 5000, '300 datagrams held');
    assert.equal(group.state, 'Starting');
    assert.equal(server.received.length, 0, 'nothing reaches the upstream while the group starts');
    start.open();
    for (const [n, c] of clients.entries()) {
      await c.waitFor(100);
      assert.deepEqual(c.texts(), texts(`c${n}-`, 100), `client ${n} gets its own replies, all, in order`);
    }
    assert.equal(server.received.length, 300, 'each datagram reached the upstream once');
    assert.equal(server.senders().length, 3, 'the upstream sees each client as its own address');
    assert.equal(runtime.calls.filter((c) => c.startsWith('start')).length, 1, 'one wake');
    const counters = listener.counters();
    assert.deepEqual([counters.flows, counters.held, counters.datagramsIn, counters.datagramsOut, counters.dropped], [3, 0, 300, 300, 0]);
  });

  it('running is not listening: held datagrams wait until the upstream binds, and it gets each exactly once', async () => {
    const server = await echo({ bindAfterMs: 1500 });
    const { port, logger } = await setup({ upstreamPort: server.port });
    const c = await client(port);
    for (let i = 0; i < 20; i++) c.send(`late${i}`);
    await c.waitFor(20);
    assert.deepEqual(c.texts(), texts('late', 20));
    assert.deepEqual(
      server.received.map((r) => r.data.toString()),
      texts('late', 20),
      'no datagram twice: a refused probe was not taken, a taken one is never sent again',
    );
    assert.match(logger.matching(/took a datagram/)[0] ?? '', /after ([2-9]|\d\d+) attempt\(s\)/, 'the first probes were refused');
  });

  it('--wake-from: a datagram from outside the networks does not wake a sleeping group; one from inside does; awake, it serves everyone', async () => {
    const server = await echo();
    const { port, group, runtime, listener, logger } = await setup({ upstreamPort: server.port, bind: '::', settings: { wakeFrom: AddressList.parse('::1/128') } });
    const outside = await client(port, '127.0.0.1');
    outside.send('scan');
    await eventually(() => group.snapshot().turnedAway.outsideWakeFrom === 1, 5000, 'the datagram is turned away');
    assert.equal(runtime.count('start web'), 0);
    assert.equal(listener.counters().flows, 0, 'no flow is kept for it');
    await eventually(() => logger.matching(/dropped 1 datagram\(s\) on port \d+\/udp from clients outside wake-from ::1\/128 while the group sleeps/).length === 1, 5000, 'it is logged');
    const inside = await client(port, '::1');
    inside.send('hello');
    await inside.waitFor(1);
    assert.deepEqual(inside.texts(), ['hello']);
    outside.send('now awake');
    await outside.waitFor(1);
    assert.deepEqual(outside.texts(), ['now awake']);
  });

  it('--allow-from: datagrams from outside are dropped even while the group is awake', async () => {
    const server = await echo();
    const { port, group, runtime } = await setup({ upstreamPort: server.port, settings: { allowFrom: AddressList.parse('10.0.0.0/8') } });
    runtime.set('web', { phase: 'running' });
    await eventually(() => group.state === 'Running', 5000, 'the group runs');
    (await client(port)).send('hi');
    await eventually(() => group.snapshot().turnedAway.notAllowed === 1, 5000, 'the datagram is turned away');
    assert.equal(server.received.length, 0);
  });

  it('a new upstream takes new flows from now on; open flows stay where they are', async () => {
    const a = await echo({ reply: (data, send) => { send(`a:${data.toString()}`); } });
    const b = await echo({ reply: (data, send) => { send(`b:${data.toString()}`); } });
    const { port, listener } = await setup({ upstreamPort: a.port });
    const first = await client(port);
    first.send('1');
    await first.waitFor(1);
    listener.setUpstream(fixedUpstream({ host: '127.0.0.1', port: b.port }));
    const second = await client(port);
    second.send('2');
    await second.waitFor(1);
    first.send('3');
    await first.waitFor(2);
    assert.deepEqual([first.texts(), second.texts()], [['a:1', 'a:3'], ['b:2']]);
  });

  it('a UDP port already in use is a UserError that names it and the fix', async () => {
    const taken = await echo();
    const runtime = new FakeRuntime();
    const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 100 });
    cleanups.push(() => proxy.shutdown(0));
    const group = proxy.group('g', SETTINGS);
    await assert.rejects(
      proxy.listen({ port: taken.port, protocol: 'udp', bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: 1 }) }, group),
      (error: unknown) => error instanceof UserError && new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${taken.port}/udp: it is already in use; stop what listens there or choose another port$`).test(error.message),
    );
  });

  it('an upstream given by name (localhost) is looked up and reached', async () => {
    const server = await echo();
    const { port } = await setup({ upstreamPort: server.port, host: 'localhost' });
    const c = await client(port);
    c.send('hello');
    await c.waitFor(1);
    assert.equal(c.texts()[0], 'hello');
  });

  it('carries a 65,507-byte datagram (the IPv4 maximum) both ways intact, and an empty one', async () => {
    const server = await echo();
    const { port } = await setup({ upstreamPort: server.port });
    const c = await client(port);
    const big = payload(65_507, 7);
    c.send(big);
    c.send(Buffer.alloc(0));
    await c.waitFor(2);
    assert.equal(c.replies[0]?.length, big.length);
    assert.equal(sha256(c.replies[0]), sha256(big));
    assert.equal(c.replies[1]?.length, 0);
  });

  it('serves IPv6 clients on a dual-stack listener, and IPv4 clients on it too', async () => {
    const server = await echo();
    const { port } = await setup({ upstreamPort: server.port, bind: '::' });
    const [v6, v4] = [await client(port, '::1'), await client(port, '127.0.0.1')];
    v6.send('six');
    v4.send('four');
    await v6.waitFor(1);
    await v4.waitFor(1);
    assert.deepEqual([v6.texts(), v4.texts()], [['six'], ['four']]);
  });

  it('past the hold bound, the oldest held datagrams are dropped and the drop is logged', async () => {
    const server = await echo();
    const { runtime, port, logger, listener } = await setup({ upstreamPort: server.port, udp: { maxHeldDatagrams: 10 } });
    const start = gate();
    runtime.startGate = start.promise;
    const c = await client(port);
    for (let i = 0; i < 15; i++) c.send(`d${i}`);
    await eventually(() => listener.counters().datagramsIn === 15, 5000, '15 datagrams in');
    start.open();
    await c.waitFor(10);
    assert.deepEqual(c.texts(), texts('d', 15).slice(5), 'the newest 10 are kept');
    assert.equal(listener.counters().dropped, 5);
    // The first drop is logged at once; the other four are summed up 5s later (ThrottledReport's own test).
    assert.equal(logger.matching(/dropped the oldest 1 held datagram\(s\) on port \d+\/udp: the group holds at most 10 datagram\(s\) and 1048576 bytes while it wakes \(raise --max-held-datagrams/).length, 1);
  });

  it('past the byte bound too', async () => {
    const server = await echo();
    const { runtime, port, listener } = await setup({ upstreamPort: server.port, udp: { maxHeldBytes: 3000 } });
    const start = gate();
    runtime.startGate = start.promise;
    const c = await client(port);
    for (let i = 0; i < 5; i++) c.send(Buffer.alloc(1000, i));
    await eventually(() => listener.counters().datagramsIn === 5, 5000, '5 datagrams in');
    start.open();
    await c.waitFor(3);
    assert.deepEqual(c.replies.map((r) => r[0]), [2, 3, 4]);
  });

  it('a failed wake drops what was held and logs why; the next datagram wakes again', async () => {
    const server = await echo();
    const runtime = new FakeRuntime();
    runtime.add('g', 'web', { startError: new Error('no such image') });
    const logger = new MemoryLogger();
    const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld: 100 });
    cleanups.push(() => proxy.shutdown(0));
    const group = proxy.group('g', SETTINGS);
    const listener = await proxy.listen({ port: 0, protocol: 'udp', bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: server.port }) }, group);
    const c = await client(listener.port);
    c.send('one');
    c.send('two');
    await eventually(() => logger.matching(/dropped \d held datagram/).length === 1, 5000, 'the drop logged');
    assert.match(logger.matching(/dropped \d held datagram/)[0] ?? '', /warn \[g\] dropped 2 held datagram\(s\) from 1 client\(s\) on port \d+\/udp: wake failed: could not start web: no such image/);
    assert.deepEqual([listener.counters().held, listener.counters().dropped], [0, 2]);
    c.send('three');
    await eventually(() => runtime.calls.filter((call) => call === 'start web').length === 2, 5000, 'a second wake');
    assert.equal(server.received.length, 0);
  });

  it('an upstream that never listens: what was held longer than the start timeout is dropped, saying why', async () => {
    const server = await echo({ bindAfterMs: 60_000 });
    const { port, logger, listener } = await setup({ upstreamPort: server.port, settings: { startTimeoutMs: 1000 } });
    const c = await client(port);
    c.send('lost');
    await eventually(() => listener.counters().dropped === 1, 5000, 'the drop');
    assert.match(
      logger.matching(/dropped 1 held datagram/)[0] ?? '',
      /dropped 1 held datagram\(s\) from 1 client\(s\) on port \d+\/udp: held for more than the start timeout \(1s\): upstream 127\.0\.0\.1:\d+ did not take them \(\d+ attempt\(s\); last: nothing listens there yet \(ICMP port unreachable\)\)/,
    );
  });

  it('a flow ends after --udp-timeout without a datagram: its upstream socket is closed, and the next datagram opens another', async () => {
    const server = await echo();
    const { port, listener } = await setup({ upstreamPort: server.port, udp: { flowTimeoutMs: 500 } });
    const c = await client(port);
    c.send('first');
    await c.waitFor(1);
    const firstSender = Number(server.senders()[0]?.split(':')[1]);
    assert.ok(openUdpPorts().has(firstSender), 'the flow has its upstream socket');
    assert.equal(listener.counters().flows, 1);
    await eventually(() => listener.counters().flows === 0, 3000, 'the flow to time out');
    assert.ok(!openUdpPorts().has(firstSender), 'its upstream socket is closed');
    c.send('second');
    await c.waitFor(2);
    assert.equal(server.senders().length, 2, 'a new flow, a new upstream socket');
  });

  it('datagrams either way keep a flow alive past the timeout', async () => {
    const server = await echo();
    const { port, listener } = await setup({ upstreamPort: server.port, udp: { flowTimeoutMs: 400 } });
    const c = await client(port);
    for (let i = 0; i < 8; i++) {
      c.send(`tick${i}`);
      await c.waitFor(i + 1);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    assert.equal(listener.counters().flows, 1);
    assert.equal(server.senders().length, 1, 'one flow, one upstream socket, for 1.2s of datagrams 150ms apart');
  });

  it('past --max-flows, datagrams from new clients are dropped and logged; the open flows carry on', async () => {
    const server = await echo();
    const { port, logger, listener } = await setup({ upstreamPort: server.port, udp: { maxFlows: 1 } });
    const [a, b] = [await client(port), await client(port)];
    a.send('a');
    await a.waitFor(1);
    b.send('b');
    a.send('a2');
    await a.waitFor(2);
    assert.deepEqual(b.texts(), []);
    assert.equal(listener.counters().dropped, 1);
    assert.equal(logger.matching(/dropped 1 datagram\(s\) from new clients on port \d+\/udp: 1 UDP flows are open \(raise --max-flows to allow more\)/).length, 1);
  });

  it('a datagram from the client is activity, even when the upstream never answers', async () => {
    const server = await echo({ reply: 'none' });
    const { port, runtime } = await setup({ upstreamPort: server.port, settings: { idleMs: 600 } });
    const c = await client(port);
    for (let i = 0; i < 8; i++) {
      c.send(`keep${i}`);
      await eventually(() => server.received.length === i + 1, 5000, `datagram ${i} upstream`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(runtime.calls.filter((call) => !call.startsWith('members')), ['start web'], 'datagrams 200ms apart keep a 600ms idle period at bay: no stop');
  });

  it('a datagram from the upstream is activity, even when the client sends nothing more', async () => {
    const server = await echo({
      reply: (_data, send) => {
        for (let i = 0; i < 8; i++) setTimeout(() => {
          send(`tick${i}`);
        }, i * 200);
      },
    });
    const { port, runtime } = await setup({ upstreamPort: server.port, settings: { idleMs: 600 } });
    const c = await client(port);
    c.send('subscribe');
    await c.waitFor(8);
    assert.deepEqual(runtime.calls.filter((call) => !call.startsWith('members')), ['start web'], 'replies 200ms apart keep a 600ms idle period at bay: no stop');
  });

  it('when datagrams stop, the group sleeps after the idle period and closes its flows', async () => {
    const server = await echo();
    const { port, group, listener, logger } = await setup({ upstreamPort: server.port, settings: { idleMs: 600 } });
    const c = await client(port);
    c.send('wake');
    await c.waitFor(1);
    assert.equal(listener.counters().flows, 1);
    await eventually(() => group.state === 'Idle', 5000, 'the idle stop');
    assert.equal(listener.counters().flows, 0);
    assert.equal(logger.matching(/closing 1 UDP flow\(s\) on port \d+\/udp: the group is Stopping/).length, 1);
  });

  it('a group with a TCP and a UDP port wakes once for either', async () => {
    const server = await echo();
    const { runtime, proxy, group, port } = await setup({ upstreamPort: server.port });
    const tcp = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: 1 }) }, group);
    assert.ok(tcp.port > 0);
    const start = gate();
    runtime.startGate = start.promise;
    const c = await client(port);
    c.send('x');
    await eventually(() => group.state === 'Starting', 5000, 'the wake');
    const { connect } = await import('node:net');
    const socket = connect(tcp.port, '127.0.0.1');
    socket.on('error', () => undefined);
    cleanups.push(() => {
      socket.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    start.open();
    await c.waitFor(1);
    assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), ['start web']);
  });
});
