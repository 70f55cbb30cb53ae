import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { AddressList } from '../../src/core/address-list.js';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import { STOP } from '../../src/core/sleep-plan.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { closeServer, echoThrough, openSocket, readAll, startEchoServer } from '../support/net.js';
import { until } from '../support/until.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves once the proxy closed the client's connection. */
function closedByProxy(socket: Socket): Promise<void> {
  return readAll(socket).then(() => undefined);
}

for (const takeOverAccepted of [undefined, false] as const) {
  const reads = takeOverAccepted === false ? "through Node's streams" : 'into buffers of its own';

  /** A sleeping group behind an echo server, with these wake rules; `everyInterface` listens on IPv4 and IPv6, else on 127.0.0.1. */
  async function setup(rules: Partial<GroupSettings>, everyInterface = false, maxHeld = 100) {
    const bind = everyInterface ? undefined : '127.0.0.1';
    const echo = await startEchoServer();
    cleanups.push(() => closeServer(echo.server));
    const runtime = new FakeRuntime();
    runtime.add('g', 'web');
    const logger = new MemoryLogger();
    const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld, takeOverAccepted });
    const group = proxy.group('g', { ...SETTINGS, ...rules });
    const listener = await proxy.listen({ port: 0, bind, upstream: fixedUpstream({ host: '127.0.0.1', port: echo.port }) }, group);
    cleanups.push(() => proxy.shutdown(0));
    const starts = (): number => runtime.count('start web');
    return { runtime, logger, group, port: listener.port, starts, echo };
  }

  describe(`wake rules, reading connections ${reads}`, () => {
    describe('--wake-on data', () => {
      it('a port scan (connect, close) starts nothing', async () => {
        const { group, port, starts } = await setup({ wakeOn: 'data' });
        const socket = await openSocket(port);
        socket.end();
        await closedByProxy(socket);
        await until(() => group.snapshot().turnedAway.silent === 1, 'the scan is counted');
        assert.equal(starts(), 0);
        assert.equal(group.state, 'Idle');
      });

      it('a silent connection is closed at the start timeout without waking the group', async () => {
        const { group, port, starts, logger } = await setup({ wakeOn: 'data', startTimeoutMs: 300 });
        const socket = await openSocket(port);
        await closedByProxy(socket);
        assert.equal(starts(), 0);
        assert.equal(group.snapshot().turnedAway.silent, 1);
        assert.equal(logger.matching(/without waking the group: it sent 0 of the 1 byte/).length, 1, logger.lines.join('\n'));
      });

      it('fewer bytes than --wake-min-bytes wake nothing', async () => {
        const { port, starts, group } = await setup({ wakeOn: 'data', wakeMinBytes: 4 });
        const socket = await openSocket(port);
        socket.end('abc');
        await closedByProxy(socket);
        await until(() => group.snapshot().turnedAway.silent === 1, 'the connection is counted');
        assert.equal(starts(), 0);
      });

      it('connections waiting for their bytes hold a place under --max-held: a flood of silent ones past it is refused at once', async () => {
        const { port, starts } = await setup({ wakeOn: 'data', startTimeoutMs: 5000 }, false, 2);
        let closed = 0;
        for (let i = 0; i < 5; i++) {
          const socket = await openSocket(port);
          cleanups.push(() => Promise.resolve(socket.destroy()).then(() => undefined));
          void readAll(socket).then(() => closed++);
        }
        await until(() => closed === 3, 'three are refused', 3000);
        assert.equal(starts(), 0);
      });

      it('a client that sends wakes the group, and every byte arrives in order', async () => {
        const { port, starts, echo } = await setup({ wakeOn: 'data', wakeMinBytes: 4 });
        const data = Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'.repeat(1000));
        assert.equal((await echoThrough(port, data)).toString(), data.toString());
        assert.equal(starts(), 1);
        assert.equal(echo.connections(), 1);
      });

      it('a silent client waiting while someone else wakes the group is served once it speaks', async () => {
        const { port, group } = await setup({ wakeOn: 'data' });
        const quiet = await openSocket(port);
        const answer = readAll(quiet);
        assert.equal((await echoThrough(port, Buffer.from('wake'))).toString(), 'wake');
        assert.equal(group.state, 'Running');
        quiet.end('late');
        assert.equal((await answer).data.toString(), 'late');
      });
    });

    describe('--wake-from and --allow-from', () => {
      it('a client outside --wake-from is closed at once and wakes nothing; the refusals are logged', async () => {
        const { group, port, starts, logger } = await setup({ wakeFrom: AddressList.parse('10.0.0.0/8') });
        const socket = await openSocket(port);
        await closedByProxy(socket);
        assert.equal(starts(), 0);
        assert.equal(group.snapshot().turnedAway.outsideWakeFrom, 1);
        await until(() => logger.matching(/closed 1 connection\(s\) on port \d+ from clients outside wake-from 10\.0\.0\.0\/8/).length === 1, 'the refusal is logged');
      });

      it('a client inside --wake-from wakes the group; an IPv4 client of a dual-stack listener is matched as IPv4', async () => {
        const { port, starts } = await setup({ wakeFrom: AddressList.parse('10.0.0.0/8, 127.0.0.0/8') }, true);
        assert.equal((await echoThrough(port, Buffer.from('hi'), '127.0.0.1')).toString(), 'hi');
        assert.equal(starts(), 1);
      });

      it('an IPv6 client is matched by an IPv6 network', async () => {
        const { port, starts, group } = await setup({ wakeFrom: AddressList.parse('::1/128') }, true);
        const outside = await openSocket(port, '127.0.0.1');
        await closedByProxy(outside);
        assert.equal(starts(), 0);
        assert.equal(group.snapshot().turnedAway.outsideWakeFrom, 1);
        assert.equal((await echoThrough(port, Buffer.from('six'), '::1')).toString(), 'six');
        assert.equal(starts(), 1);
      });

      it('an awake group serves clients outside --wake-from', async () => {
        const { port, runtime, group } = await setup({ wakeFrom: AddressList.parse('10.0.0.0/8') });
        runtime.set('web', { phase: 'running' });
        await until(() => group.state === 'Running', 'the group runs');
        assert.equal((await echoThrough(port, Buffer.from('awake'))).toString(), 'awake');
      });

      it('--allow-from refuses other clients even while the group is awake', async () => {
        const { port, runtime, group, echo } = await setup({ allowFrom: AddressList.parse('10.0.0.0/8') });
        runtime.set('web', { phase: 'running' });
        await until(() => group.state === 'Running', 'the group runs');
        const socket = await openSocket(port);
        await closedByProxy(socket);
        assert.equal(group.snapshot().turnedAway.notAllowed, 1);
        assert.equal(echo.connections(), 0);
      });
    });
  });
}

describe('AddressList', () => {
  it('matches IPv4, IPv6 and IPv4-mapped IPv6 clients', () => {
    const list = AddressList.parse('192.168.1.0/24, fd00::/8,203.0.113.7');
    assert.equal(list.text, '192.168.1.0/24, fd00::/8, 203.0.113.7/32');
    assert.ok(list.has('192.168.1.200'));
    assert.ok(list.has('::ffff:192.168.1.200'));
    assert.ok(list.has('fd12::1'));
    assert.ok(list.has('203.0.113.7'));
    assert.ok(!list.has('203.0.113.8'));
    assert.ok(!list.has('192.168.2.1'));
    assert.ok(!list.has('fe80::1'));
    assert.ok(!list.has(undefined));
  });

  it('names what is wrong in a bad list', () => {
    assert.throws(() => AddressList.parse('10.0.0.0/33'), /"10.0.0.0\/33": the prefix length must be a whole number from 0 to 32/);
    assert.throws(() => AddressList.parse('fd00::/129'), /from 0 to 128/);
    assert.throws(() => AddressList.parse('example.com'), /"example.com" is not an address or a network in CIDR form/);
    assert.throws(() => AddressList.parse('10.0.0.0/8/1'), /not an address or a network/);
    assert.throws(() => AddressList.parse(' , '), /no network given/);
    assert.throws(() => AddressList.parse('10.0.0.0/-1'), /prefix length/);
  });
});
