import assert from 'node:assert/strict';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { StatusDocument } from '../../src/control/status-document.js';
import { mustRun } from '../support/compose.js';
import { containerState, createMember, docker, dockerSuite, eventually, removeTestObjects, RUN_ID, TEST_LABEL, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, payload, readAll, sha256 } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';
import { createService, freePorts, joinTestSwarm, leaveTestSwarm, removeTestServices, serviceScale, waitForScale } from '../support/swarm-harness.js';

// Swarm services as members, against a real engine in single-node swarm
// mode (the suite inits it when the engine is not in swarm mode, and leaves
// it afterwards if it made it). Services run the test image on the host
// network: the routing mesh does not work on every machine, the host network
// does. What needs several nodes is argued in the README, not faked here.

async function discoveryProxy(args: readonly string[]): Promise<ProxyProcess> {
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const proxy = await ProxyProcess.start(['run', '--control-socket', socket, ...args], { ready: false });
  await proxy.waitFor(/discovery mode: following containers/);
  return proxy;
}

/** Reads the test server's greeting line, then checks that 64 KiB more come back intact: the request completed. */
async function greetAndEcho(port: number): Promise<string> {
  const data = payload(64 * 1024, 3);
  const received = await echoThrough(port, data);
  const newline = received.indexOf('\n');
  assert.ok(newline > 0, `no greeting line in ${received.length} bytes`);
  assert.equal(sha256(received.subarray(newline + 1)), sha256(data));
  return received.subarray(0, newline).toString();
}

function served(group: string, port: number, upstream: number, extra: Record<string, string> = {}): Record<string, string> {
  return { 'proxytainer.group': group, 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream}`, ...extra };
}

const SERVER = ['--host', '127.0.0.1', '--greet'];

dockerSuite('Swarm services', () => {
  before(async () => {
    await joinTestSwarm();
    await removeTestServices();
  });
  after(async () => {
    await removeTestServices();
    await removeTestObjects();
    await leaveTestSwarm();
  });

  it('a service at 0 replicas is woken by a connection, which completes; it idles back to 0 and is woken again', async () => {
    const group = uniqueName('swarm-wake');
    const [port, upstream] = [await freePort(), await freePorts()];
    const { name } = await createService({ group, port: upstream, server: SERVER, labels: served(group, port, upstream, { 'proxytainer.idle': '2s' }) });
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      assert.deepEqual(await serviceScale(name).then(({ desired, running }) => [desired, running]), [0, 0]);
      const started = Date.now();
      assert.match(await greetAndEcho(port), /^hello \S+ healthy=true uptime=\d+$/);
      const took = Date.now() - started;
      const scale = await serviceScale(name);
      assert.deepEqual([scale.desired, scale.running], [1, 1], 'woken to 1 replica, running');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): connection from `));

      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member stopped`), 30_000);
      const asleep = await serviceScale(name);
      assert.deepEqual([asleep.desired, asleep.alive], [0, 0], 'scaled to 0, its task gone');
      assert.equal(asleep.labels['proxytainer.replicas-when-awake'], '1', 'the count it had is remembered in Docker');

      assert.match(await greetAndEcho(port), /^hello /);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\)`), 5_000, 2);
      assert.equal((await serviceScale(name)).running, 1);
      process.stderr.write(`# cold wake of a service through the proxy: ${took} ms to the echoed 64 KiB\n`);
    } finally {
      await proxy.stop();
    }
  });

  it('proxytainer.replicas sets what a wake scales to; status shows replicas and nodes; wake and sleep work without a proxy', async () => {
    const group = uniqueName('swarm-replicas');
    const [port, upstream] = [await freePort(), await freePorts(3)];
    const { name } = await createService({ group, port: upstream, server: SERVER, labels: served(group, port, upstream, { 'proxytainer.replicas': '3' }) });

    const woken = await runCli(['wake', group, '--timeout', '60s']);
    assert.equal(woken.code, 0, woken.stderr);
    assert.match(woken.stderr, new RegExp(`${group} is ready in .*, through Docker; no proxy manages it`));
    assert.deepEqual(await serviceScale(name).then(({ desired, running }) => [desired, running]), [3, 3]);
    // Each replica on its own port; running is not yet listening, so each is given a moment.
    for (const slot of [0, 1, 2]) {
      await eventually(() => greetAndEcho(upstream + slot).then(() => true, () => false), 5_000, `replica ${slot + 1} to answer on its own port`);
    }

    const json = await runCli(['status', group, '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as StatusDocument;
    const member = doc.groups[0]?.members.list[0];
    assert.equal(member?.kind, 'service');
    assert.deepEqual(member.replicas, { running: 3, desired: 3 });
    assert.deepEqual(member.nodes, [hostname()]);
    assert.equal(doc.groups[0]?.state, 'Running');
    const table = await runCli(['status', group]);
    assert.match(table.stdout, new RegExp(`^SERVICE\\s+GROUP\\s+REPLICAS\\s+NODES\\n${name}\\s+${group}\\s+3/3\\s+${hostname()}$`, 'm'));

    const slept = await runCli(['sleep', group]);
    assert.equal(slept.code, 0, slept.stderr);
    const asleep = await serviceScale(name);
    assert.deepEqual([asleep.desired, asleep.alive], [0, 0], 'sleep returns once the tasks are gone');
    assert.equal(asleep.labels['proxytainer.replicas-when-awake'], '3');
    const later = JSON.parse((await runCli(['status', group, '--format', 'json'])).stdout) as StatusDocument;
    assert.equal(later.groups[0]?.state, 'Idle');
    assert.deepEqual(later.groups[0].members.list[0]?.replicas, { running: 0, desired: 0 });
  });

  it('a restarted proxy idle-stops what it finds running, and the count it had is remembered in Docker for the next wake', async () => {
    const group = uniqueName('swarm-remember');
    const [port, upstream] = [await freePort(), await freePorts(2)];
    const { name } = await createService({ group, replicas: 2, port: upstream, server: SERVER, labels: served(group, port, upstream, { 'proxytainer.idle': '1s' }) });
    await waitForScale(name, 2, 60_000);

    const first = await discoveryProxy(['--group', group]);
    try {
      await first.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Running\\): every member is running \\(started outside proxytainer\\)`), 10_000);
      await first.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
    } finally {
      await first.stop();
    }
    const asleep = await serviceScale(name);
    assert.deepEqual([asleep.desired, asleep.running, asleep.labels['proxytainer.replicas-when-awake']], [0, 0, '2']);

    const second = await discoveryProxy(['--group', group, '--idle', '1h']);
    try {
      await second.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      assert.match(await greetAndEcho(port), /^hello /);
      await second.waitFor(/scaling service \S+ to 2 \(as many as it had when proxytainer put it to sleep\)/);
      await waitForScale(name, 2, 10_000);
    } finally {
      await second.stop();
    }
  });

  it("connections to a health-checked service wait for Swarm's health check", async () => {
    const group = uniqueName('swarm-health');
    const [port, upstream] = [await freePort(), await freePorts()];
    await createService({ group, port: upstream, server: [...SERVER, '--healthy-after', '1500'], healthIntervalMs: 200, labels: served(group, port, upstream) });
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      const greeting = await greetAndEcho(port);
      assert.match(greeting, /healthy=true/, `the first bytes came before the health check passed: ${greeting}`);
      assert.ok(Number(/uptime=(\d+)/.exec(greeting)?.[1]) >= 1500);
    } finally {
      await proxy.stop();
    }
  });

  it("a wake whose tasks cannot be placed fails fast with the scheduler's reason, and the service goes back to 0", async () => {
    const group = uniqueName('swarm-unplaceable');
    const [port, upstream] = [await freePort(), await freePorts()];
    const { name } = await createService({ group, port: upstream, server: SERVER, constraints: ['node.labels.proxytainer-test-nowhere==true'] });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--start-timeout', '60s', '--control-socket', join(tmpdir(), `${uniqueName('control')}.sock`)]);
    try {
      const started = Date.now();
      const { data } = await readAll(await openSocket(port));
      const took = Date.now() - started;
      assert.equal(data.length, 0, 'closed without an answer');
      await proxy.waitFor(new RegExp(`\\[${group}\\] wake failed: ${name}: 0/1 tasks running: no suitable node \\(scheduling constraints not satisfied on 1 node\\)`));
      assert.ok(took < 10_000, `the wake failed after ${took} ms, not at once (start timeout 60s)`);
      await waitForScale(name, 0, 10_000);
    } finally {
      await proxy.stop();
    }
  });

  it('a wake whose image is missing on the node fails fast with the reason', async () => {
    const group = uniqueName('swarm-noimage');
    const [port, upstream] = [await freePort(), await freePorts()];
    const { name } = await createService({ group, port: upstream, cmd: ['sleep', '600'] });
    // Swarm takes the image from the spec; pointing it at one that exists nowhere is what a node without the image sees.
    await mustRun('docker', ['service', 'update', '--detach', '--image', 'proxytainer-test-absent:none', name]);
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--start-timeout', '60s', '--control-socket', join(tmpdir(), `${uniqueName('control')}.sock`)]);
    try {
      const started = Date.now();
      await readAll(await openSocket(port));
      const took = Date.now() - started;
      await proxy.waitFor(new RegExp(`\\[${group}\\] wake failed: ${name}: 0/1 tasks running: rejected on \\S+: .*proxytainer-test-absent`));
      assert.ok(took < 20_000, `the wake failed after ${took} ms, not at once (start timeout 60s)`);
      await waitForScale(name, 0, 10_000);
    } finally {
      await proxy.stop();
    }
  });

  it('a global service is a label problem naming it; the others in its group still serve', async () => {
    const group = uniqueName('swarm-global');
    const [port, upstream, other] = [await freePort(), await freePorts(), await freePort()];
    const { name: global } = await createService({ group, global: true, cmd: ['sleep', '600'], labels: served(group, other, 1) });
    await createService({ group, port: upstream, server: SERVER, labels: served(group, port, upstream) });
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await proxy.waitFor(new RegExp(`WARN {2}service ${global}: label proxytainer\\.group: ${global} is a global service \\(one task on every node\\), which Swarm cannot scale to 0`));
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      assert.match(await greetAndEcho(port), /^hello /);
      const doc = JSON.parse((await runCli(['status', group, '--format', 'json'])).stdout) as StatusDocument;
      assert.deepEqual(doc.problems.map((p) => [p.container, p.label]), [[global, 'proxytainer.group']]);
      assert.deepEqual(doc.groups[0]?.members.list.map((m) => m.kind), ['service'], 'the global service is not a member');
    } finally {
      await proxy.stop();
    }
  });

  it('discovery: a service created while the proxy runs gets a listener, a label added with service update moves it, removing the service closes it', async () => {
    const group = uniqueName('swarm-discovered');
    const [first, second, upstream] = [await freePort(), await freePort(), await freePorts()];
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await proxy.waitFor(/no containers labelled proxytainer\.group yet; waiting for some/);
      const created = Date.now();
      const { name } = await createService({ group, port: upstream, server: SERVER, labels: served(group, first, upstream) });
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${first} `), 5_000);
      process.stderr.write(`# docker service create → listener: ${Date.now() - created} ms\n`);

      await mustRun('docker', ['service', 'update', '--detach', '--label-add', `proxytainer.port=${second}`, name]);
      await proxy.waitFor(new RegExp(`closing port ${first} of group ${group}: no member declares it any more`), 5_000);
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${second} `), 5_000);
      assert.match(await greetAndEcho(second), /^hello /);

      await docker.getService(name).remove();
      await proxy.waitFor(new RegExp(`closing port ${second} of group ${group}: no member declares it any more`), 5_000);
      await proxy.waitFor(new RegExp(`group ${group} has no members any more`), 5_000);
    } finally {
      await proxy.stop();
    }
  });

  it('docker service scale by hand is followed, not fought: scaled up the group runs, scaled to 0 it is idle', async () => {
    const group = uniqueName('swarm-outside');
    const [port, upstream] = [await freePort(), await freePorts()];
    const { name } = await createService({ group, port: upstream, server: SERVER, labels: served(group, port, upstream) });
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      await mustRun('docker', ['service', 'scale', '--detach', `${name}=1`]);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Running\\): every member is running \\(started outside proxytainer\\)`), 30_000);
      await mustRun('docker', ['service', 'scale', '--detach', `${name}=0`]);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Idle\\): ${name} is scaled to 0( \\(\\d task\\(s\\) still stopping\\))? \\(changed outside proxytainer\\)`), 10_000);
      assert.equal(proxy.matching(new RegExp(`\\[${group}\\] State change \\(\\w+ => Starting\\)`)).length, 0, 'proxytainer woke nothing itself');
    } finally {
      await proxy.stop();
    }
  });

  it('a group may mix a service and a container: both wake together and sleep together', async () => {
    const group = uniqueName('swarm-mixed');
    const [port, upstream] = [await freePort(), await freePorts()];
    const container = await createMember({ group, server: ['--port', String(upstream), ...SERVER] });
    const { name } = await createService({ group, cmd: ['sleep', '600'] });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '2s', '--control-socket', join(tmpdir(), `${uniqueName('control')}.sock`)]);
    try {
      assert.match(await greetAndEcho(port), /^hello /);
      assert.equal((await containerState(container)).status, 'running');
      assert.deepEqual(await serviceScale(name).then(({ desired, running }) => [desired, running]), [1, 1], 'the service was woken with the container');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member stopped`), 30_000);
      assert.equal((await containerState(container)).status, 'exited');
      assert.deepEqual(await serviceScale(name).then(({ desired, running }) => [desired, running]), [0, 0]);
    } finally {
      await proxy.stop();
    }
  });

  it('without an upstream label, a service on no network the proxy shares is reported with why and what to do', async () => {
    const group = uniqueName('swarm-nonet');
    const port = await freePort();
    const network = uniqueName('proxytainer-test-overlay');
    await docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, Labels: { [TEST_LABEL]: RUN_ID } });
    try {
      await createService({ group, network, cmd: ['sleep', '600'], labels: { 'proxytainer.group': group, 'proxytainer.port': String(port) } });
      const proxy = await discoveryProxy(['--group', group]);
      try {
        await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
        const { data } = await readAll(await openSocket(port));
        assert.equal(data.length, 0);
        await proxy.waitFor(
          new RegExp(`WARN {2}\\[${group}\\] cannot find where \\S+ listens for port ${port}: service \\S+ shares no network with proxytainer \\(\\S+ is on network ${network}; proxytainer runs outside any container.*set proxytainer\\.upstream=HOST:PORT`),
          30_000,
        );
      } finally {
        await proxy.stop();
      }
    } finally {
      await removeTestServices();
      await eventually(async () => docker.getNetwork(network).remove().then(() => true, () => false), 30_000, `network ${network} to be removable`);
    }
  });
});
