import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { StatusDocument } from '../../src/control/status-document.js';
import { containerState, createMember, createNetwork, dockerSuite, eventually, groupEvents, removeTestObjects, ROOT, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';
import { freeUdpPort, openUdpPorts, UdpClient } from '../support/udp.js';

const FIXTURE = `${join(ROOT, 'test', 'fixtures', 'udp-server.mjs')}:/srv/udp-server.mjs:ro`;

/** A member running the UDP echo server (test/fixtures/udp-server.mjs). */
function udpMember(group: string, server: readonly string[], extra: Omit<Parameters<typeof createMember>[0], 'group'> = {}) {
  return createMember({ group, cmd: ['node', '/srv/udp-server.mjs', ...server], binds: [FIXTURE], ...extra });
}

/** A port free for both TCP and UDP. */
async function freeBothPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const udp = createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      udp.once('error', () => {
        resolve(false);
      });
      udp.bind(port, () => {
        resolve(true);
      });
    });
    udp.close();
    if (free) return port;
  }
}

async function client(port: number, host = '127.0.0.1'): Promise<UdpClient> {
  return UdpClient.connect(port, host);
}

async function discoveryProxy(group: string, args: readonly string[] = []): Promise<{ proxy: ProxyProcess; socket: string }> {
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const proxy = await ProxyProcess.start(['run', '--group', group, '--control-socket', socket, ...args], { ready: false });
  await proxy.waitFor(/discovery mode: following containers/);
  return { proxy, socket };
}

async function statusJson(socket: string): Promise<StatusDocument> {
  const { code, stdout, stderr } = await runCli(['status', '--format', 'json', '--control-socket', socket]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as StatusDocument;
}

const texts = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

dockerSuite('UDP', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a cold wake by one datagram: the reply arrives', async () => {
    const group = uniqueName('udpcold');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    const member = await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1']);
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group]);
    const c = await client(port);
    try {
      assert.equal((await containerState(member)).status, 'created');
      c.send('ping');
      await c.waitFor(1, 30_000);
      assert.deepEqual(c.texts(), ['ping']);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): datagram from 127\\.0\\.0\\.1:${c.localPort} on port ${port}/udp`));
      assert.equal((await containerState(member)).status, 'running');
    } finally {
      c.close();
      await proxy.stop();
    }
  });

  it('datagrams sent while asleep come back, all of them, in order, each client getting only its own (4 clients, a server that binds late)', async () => {
    const group = uniqueName('udpmany');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1', '--listen-after', '700']);
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group]);
    const clients = await Promise.all(Array.from({ length: 4 }, () => client(port)));
    try {
      for (let i = 0; i < 100; i++) for (const [n, c] of clients.entries()) c.send(`c${n}-${i}`);
      for (const [n, c] of clients.entries()) {
        await c.waitFor(100, 30_000);
        assert.deepEqual(c.texts(), texts(`c${n}-`, 100), `client ${n}: its own 100 replies, in order`);
      }
      for (const c of clients) c.send('whoami');
      for (const c of clients) await c.waitFor(101);
      const seen = clients.map((c) => c.texts()[100]);
      assert.equal(new Set(seen).size, 4, `the upstream sees each client as its own address: ${seen.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(clients.map((c) => c.replies.length), [101, 101, 101, 101], 'nothing was sent twice');
    } finally {
      for (const c of clients) c.close();
      await proxy.stop();
    }
  });

  it('the group sleeps after the idle period once datagrams stop', async () => {
    const group = uniqueName('udpidle');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    const member = await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1']);
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '2s']);
    const c = await client(port);
    try {
      c.send('wake');
      await c.waitFor(1, 30_000);
      const stopped = proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): no traffic for 2s`), 20_000);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
      await stopped;
      assert.equal((await containerState(member)).status, 'exited');
    } finally {
      c.close();
      await proxy.stop();
    }
  });

  it('a flow timeout closes the upstream socket; the next datagram opens another', async () => {
    const group = uniqueName('udpflow');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1']);
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group, '--udp-timeout', '1s']);
    const c = await client(port);
    try {
      c.send('whoami');
      await c.waitFor(1, 30_000);
      const first = Number(/:(\d+)$/.exec(c.texts()[0] ?? '')?.[1]);
      assert.ok(openUdpPorts().has(first), `the flow's upstream socket (port ${first}) is open`);
      await eventually(() => !openUdpPorts().has(first), 5_000, `the upstream socket on port ${first} to close`);
      c.send('whoami');
      await c.waitFor(2);
      assert.notEqual(c.texts()[1], c.texts()[0], 'a new flow, from a new upstream socket');
    } finally {
      c.close();
      await proxy.stop();
    }
  });

  it('past the hold bound, the oldest held datagrams are dropped and it is logged', async () => {
    const group = uniqueName('udpbound');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '1500'], { healthIntervalMs: 200 });
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group, '--max-held-datagrams', '10']);
    const c = await client(port);
    try {
      for (let i = 0; i < 30; i++) c.send(`d${i}`);
      await c.waitFor(10, 30_000);
      await proxy.waitFor(new RegExp(`\\[${group}\\] dropped the oldest 1 held datagram\\(s\\) on port ${port}/udp: the group holds at most 10 datagram\\(s\\)`));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(c.texts(), texts('d', 30).slice(20), 'the newest 10');
    } finally {
      c.close();
      await proxy.stop();
    }
  });

  it('a failed wake drops what was held and logs why', async () => {
    const group = uniqueName('udpfail');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '60000', '--exit-after', '500', '--exit-code', '3'], { healthIntervalMs: 200 });
    const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group]);
    const c = await client(port);
    try {
      c.send('one');
      c.send('two');
      await proxy.waitFor(
        new RegExp(`\\[${group}\\] dropped 2 held datagram\\(s\\) from 1 client\\(s\\) on port ${port}/udp: wake failed: \\S+ exited \\(exit code 3\\)`),
        30_000,
      );
      assert.deepEqual(c.texts(), []);
    } finally {
      c.close();
      await proxy.stop();
    }
  });

  it('a group with a TCP and a UDP port (proxytainer.port=P/udp,P/tcp) wakes once for either', async () => {
    const group = uniqueName('udpboth');
    const [port, upstream] = [await freeBothPort(), await freeBothPort()];
    const { proxy } = await discoveryProxy(group);
    try {
      const since = Math.floor(Date.now() / 1000) - 1;
      await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1', '--tcp', '--listen-after', '300'], {
        labels: { 'proxytainer.port': `${port}/udp,${port}/tcp`, 'proxytainer.upstream': `127.0.0.1:${upstream},127.0.0.1:${upstream}` },
      });
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port}/udp`));
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      const c = await client(port);
      try {
        c.send('by udp');
        const tcp = echoThrough(port, Buffer.from('by tcp'));
        await c.waitFor(1, 30_000);
        assert.equal((await tcp).toString(), 'by tcp');
        assert.deepEqual(c.texts(), ['by udp']);
      } finally {
        c.close();
      }
      assert.equal((await groupEvents(group, since, 'start')).length, 1, 'one start for both');
    } finally {
      await proxy.stop();
    }
  });

  it('discovery: a container created later with proxytainer.port=P/udp gets its UDP listener; /sctp and /UDP2 are named label problems', async () => {
    const group = uniqueName('udpdisc');
    const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
    const { proxy, socket } = await discoveryProxy(group);
    try {
      await udpMember(group, ['--port', String(upstream), '--host', '127.0.0.1'], { labels: { 'proxytainer.port': `${port}/udp`, 'proxytainer.upstream': `127.0.0.1:${upstream}` } });
      const bad = uniqueName(`${group}-bad`);
      await createMember({ group, name: bad, cmd: ['sleep', '60'], labels: { 'proxytainer.port': '9/sctp,27015/UDP2' } });
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port}/udp \\(all interfaces\\), forwarding to 127\\.0\\.0\\.1:${upstream}`));
      const c = await client(port);
      try {
        c.send('found');
        await c.waitFor(1, 30_000);
        assert.deepEqual(c.texts(), ['found']);
      } finally {
        c.close();
      }
      await proxy.waitFor(new RegExp(`container ${bad}: label proxytainer\\.port: "9/sctp": proxytainer proxies TCP and UDP, not SCTP`));
      const doc = await statusJson(socket);
      const entry = doc.groups.find((g) => g.name === group);
      assert.ok(entry !== undefined);
      assert.deepEqual(
        entry.problems.map((p) => [p.container, p.label]),
        [
          [bad, 'proxytainer.port'],
          [bad, 'proxytainer.port'],
        ],
      );
      assert.match(entry.problems[1]?.message ?? '', /"27015\/UDP2": "UDP2" is not a protocol; write 27015\/udp/);
      const [listener] = entry.listeners;
      assert.equal(listener?.protocol, 'udp');
      assert.deepEqual(listener.udp, { flows: 1, held: 0, dropped: 0, datagrams: { in: 1, out: 1 }, bytes: { in: 5, out: 5 } });
      assert.deepEqual(entry.bytes, { in: 5, out: 5 });
      const table = await runCli(['status', '--control-socket', socket]);
      const row = table.stdout.split('\n').find((line) => line.startsWith(group)) ?? '';
      assert.match(row, new RegExp(`${port}/udp → 127\\.0\\.0\\.1:${upstream}\\s+0 open, 0 held, 1 flows, 1/1 datagrams\\s+5 B / 5 B`));
    } finally {
      await proxy.stop();
    }
  });

  it('a member on a bridge network that binds 3s after it starts gets every held datagram once, though Linux answers only some probes there (ICMP rate limit)', async () => {
    const network = await createNetwork();
    const group = uniqueName('udpbridge');
    const port = await freeUdpPort();
    const { proxy } = await discoveryProxy(group);
    try {
      await udpMember(group, ['--port', String(port), '--listen-after', '3000'], { network, labels: { 'proxytainer.port': `${port}/udp` } });
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port}/udp`));
      const c = await client(port);
      try {
        for (let i = 0; i < 10; i++) c.send(`b${i}`);
        await c.waitFor(10, 30_000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(c.texts(), texts('b', 10), 'all ten, once each, in order');
      } finally {
        c.close();
      }
      await proxy.waitFor(new RegExp(`\\[${group}\\] upstream \\d+\\.\\d+\\.\\d+\\.\\d+:${port} took a datagram on port ${port}/udp after \\d+ attempt\\(s\\)`));
    } finally {
      await proxy.stop();
    }
  });
});
