import assert from 'node:assert/strict';
import { connect as connectHttp2 } from 'node:http2';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import type { Listener } from '../../src/core/listener.js';
import { parseHostnamePattern } from '../../src/core/protocols/hostname-pattern.js';
import { Proxy } from '../../src/core/proxy.js';
import type { Route } from '../../src/core/route.js';
import { STOP } from '../../src/core/sleep-plan.js';
import { fixedUpstream } from '../../src/core/upstream-source.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { fixture } from '../support/handshake-fixtures.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { closeServer, listenLocal, openSocket, readAll } from '../support/net.js';
import { until } from '../support/until.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 2_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An upstream that answers every connection with its name, then everything it received, once the client ends. */
async function namedUpstream(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      socket.end(Buffer.concat([Buffer.from(`${name}:`), ...chunks]));
    });
    socket.on('error', () => undefined);
  });
  const port = await listenLocal(server);
  cleanups.push(() => closeServer(server));
  return { port, server };
}

for (const takeover of [true, false]) {
  const takeOverAccepted = takeover ? undefined : false;
  async function setup(options: { fallback?: boolean; settings?: Partial<GroupSettings>; maxHeld?: number } = {}): Promise<{ runtime: FakeRuntime; listener: Listener; port: number }> {
    const runtime = new FakeRuntime();
    runtime.add('a', 'a-1');
    runtime.add('b', 'b-1');
    runtime.add('c', 'c-1');
    const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: options.maxHeld ?? 100, takeOverAccepted });
    cleanups.push(() => proxy.shutdown(0));
    const route = async (group: string, names: string[]): Promise<Route> => ({
      group: proxy.group(group, { ...SETTINGS, ...options.settings }),
      upstream: fixedUpstream({ host: '127.0.0.1', port: (await namedUpstream(group)).port }),
      hostnames: names.map(parseHostnamePattern),
      minecraft: null,
    });
    const routes = [await route('a', ['app.example.test']), await route('b', ['*.example.test', 'other.test'])];
    if (options.fallback === true) routes.push(await route('c', []));
    const listener = await proxy.listenTcp({ port: 0, bind: '127.0.0.1' }, routes);
    return { runtime, listener, port: listener.port };
  }

  /** Sends `bytes` (in pieces of `split` bytes, a write each), ends, and reads the answer. */
  async function send(port: number, bytes: Buffer, split = bytes.length): Promise<Buffer> {
    const socket = await openSocket(port);
    for (let at = 0; at < bytes.length; at += split) {
      socket.write(bytes.subarray(at, at + split));
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.end();
    return (await readAll(socket)).data;
  }

  describe(`a port shared by name (${takeover ? 'own buffers' : "Node's streams"})`, () => {
    it('connections waiting to be routed hold a place under --max-held: a flood of silent ones past it is refused at once', async () => {
      const { port } = await setup({ maxHeld: 2 });
      let closed = 0;
      for (let i = 0; i < 5; i++) {
        const socket = await openSocket(port);
        cleanups.push(() => Promise.resolve(socket.destroy()).then(() => undefined));
        void readAll(socket).then(() => closed++);
      }
      // The two in place wait for their first bytes until the 2 s deadline; the other three go at once.
      await until(() => closed === 3, 'three are refused', 1500);
      assert.equal(closed, 3);
    });

    it('sends a TLS ClientHello to the group its SNI names, every byte first and in order, and wakes only that group', async () => {
      const { runtime, port } = await setup();
      const hello = fixture('tls-curl.bin');
      const answer = await send(port, hello);
      assert.deepEqual(answer, Buffer.concat([Buffer.from('a:'), hello]));
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), ['start a-1']);
    });

    it('counts the bytes read to route a connection towards --wake-on data: a routed ClientHello wakes its group', async () => {
      const { runtime, port } = await setup({ settings: { wakeOn: 'data', wakeMinBytes: 100 } });
      const hello = fixture('tls-curl.bin');
      assert.deepEqual(await send(port, hello), Buffer.concat([Buffer.from('a:'), hello]));
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), ['start a-1']);
    });

    it('still routes a ClientHello split into one-byte writes', async () => {
      const { port } = await setup();
      const hello = fixture('tls-openssl-fragmented.bin');
      assert.deepEqual(await send(port, hello, 1), Buffer.concat([Buffer.from('a:'), hello]));
    });

    it('routes HTTP by Host, exact before wildcard', async () => {
      const { port } = await setup();
      const request = Buffer.from('GET / HTTP/1.1\r\nHost: deep.sub.example.test:8443\r\n\r\n');
      assert.equal((await send(port, request)).toString(), `b:${request.toString()}`);
    });

    it('answers an unknown SNI with unrecognized_name, an unknown Host with 421, and wakes nothing', async () => {
      const { runtime, listener, port } = await setup();
      const hello = Buffer.from(fixture('tls-openssl-no-sni.bin'));
      assert.deepEqual([...(await send(port, hello))], [21, 3, 3, 0, 2, 2, 112]);
      const answer = (await send(port, Buffer.from('GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n'))).toString();
      assert.match(answer, /^HTTP\/1\.1 421 Misdirected Request\r\n/);
      assert.match(answer, /No service here answers to the name nobody\.test\./);
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), []);
      assert.deepEqual(listener.routingCounts(), { unknownName: 1, noName: 1, malformed: 0, unknownProtocol: 0, silent: 0, pingsAnswered: 0 });
    });

    it('routes HTTP/2 with prior knowledge by :authority, and answers an unknown one with an HTTP/2 421', async () => {
      const { runtime, port } = await setup();
      const status = await new Promise<number>((resolve, reject) => {
        const session = connectHttp2('http://nobody.test', { createConnection: () => connect(port, '127.0.0.1') });
        session.on('error', reject);
        const stream = session.request({ ':path': '/' });
        stream.on('response', (headers) => {
          resolve(Number(headers[':status']));
          session.close();
        });
        stream.on('error', reject);
        stream.end();
      });
      assert.equal(status, 421);
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      const request = fixture('http2-curl-prior-knowledge.bin');
      assert.ok(request.subarray(0, preface.length).equals(preface));
      assert.deepEqual(await send(port, request), Buffer.concat([Buffer.from('a:'), request]), 'app.example.test, named in :authority, reaches group a');
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), ['start a-1']);
    });

    it('gives names no group claims to the fallback group', async () => {
      const { port } = await setup({ fallback: true });
      const request = Buffer.from('GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n');
      assert.equal((await send(port, request)).toString(), `c:${request.toString()}`);
      assert.equal((await send(port, Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toString(), 'c:SSH-2.0-OpenSSH_9.2\r\n');
    });

    it('closes a connection that sends nothing once the deadline passes, waking nothing', async () => {
      const { runtime, listener, port } = await setup();
      const socket = await openSocket(port);
      const started = performance.now();
      const { data } = await readAll(socket);
      assert.equal(data.length, 0);
      assert.ok(performance.now() - started >= 1_900, `closed after ${Math.round(performance.now() - started)}ms, before the 2s deadline`);
      assert.equal(listener.routingCounts()?.silent, 1);
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), []);
    });

    it('cuts a request head that never ends at 16 KiB and wakes nothing', async () => {
      const { runtime, listener, port } = await setup();
      const socket = await openSocket(port);
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: app.example.test\r\nX-Endless: ');
      const writing = setInterval(() => socket.write('x'.repeat(1024)), 5);
      const { data } = await readAll(socket);
      clearInterval(writing);
      assert.match(data.toString(), /^HTTP\/1\.1 400 Bad Request/);
      assert.equal(listener.routingCounts()?.malformed, 1);
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), []);
    });
  });
}
