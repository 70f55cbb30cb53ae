import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, recordedEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { runCli, startStaticProxy } from '../support/proxy-process.js';
import { eventually } from '../support/wait.js';

/** When Docker recorded `action` for the container called `name`, in nanoseconds, from its own events. */
async function eventTime(since: number, group: string, name: string, action: string): Promise<number> {
  const events = await recordedEvents(since, { label: [`proxytainer.group=${group}`] });
  const found = events.find((e) => e.Action === action && e.Actor.Attributes['name'] === name);
  assert.ok(found !== undefined, `Docker recorded no "${action}" of ${name}; it recorded ${events.map((e) => `${e.Actor.Attributes['name'] ?? '?'}:${e.Action}`).join(', ')}`);
  return found.timeNano;
}

function server(port: number, extra: readonly string[] = []): string[] {
  return ['--port', String(port), '--host', '127.0.0.1', ...extra];
}

dockerSuite('stacks: start order, shared members, sleeping by pause', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a member that depends on another being healthy starts only after Docker reported it healthy', async () => {
    const group = uniqueName('order');
    const [dbPort, appPort] = [await freePort(), await freePort()];
    const db = `${group}-db`;
    const app = `${group}-app`;
    await createMember({ group, name: db, server: server(dbPort, ['--healthy-after', '1500']), healthIntervalMs: 200 });
    await createMember({ group, name: app, server: server(appPort), labels: { 'proxytainer.group': group, 'proxytainer.depends-on': `${db}:service_healthy` } });
    const since = Math.floor(Date.now() / 1000);
    const { proxy, port } = await startStaticProxy(group, appPort);
    try {
      assert.equal((await echoThrough(port, Buffer.from('ordered'))).toString(), 'ordered');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Starting => Running\\)`));
      const healthy = await eventTime(since, group, db, 'health_status: healthy');
      const appStart = await eventTime(since, group, app, 'start');
      assert.ok(appStart > healthy, `${app} started ${(healthy - appStart) / 1e6} ms before ${db} was healthy`);
      assert.ok((await eventTime(since, group, db, 'start')) < healthy);
    } finally {
      await proxy.stop();
    }
  });

  it("a chain of three declared with compose v2's own label starts in order, and stops in reverse", async () => {
    const group = uniqueName('chain');
    const project = uniqueName('proj');
    const ports = [await freePort(), await freePort(), await freePort()];
    const [nameA, nameB, nameC] = ['a', 'b', 'c'].map((service) => `${project}-${service}-1`) as [string, string, string];
    const names = [nameA, nameB, nameC];
    // What compose v2 writes on the containers of `c: depends_on: [b]` and `b: depends_on: {a: {condition: service_started}}`.
    const compose = (service: string, dependsOn?: string): Record<string, string> => ({
      'proxytainer.group': group,
      'com.docker.compose.project': project,
      'com.docker.compose.service': service,
      ...(dependsOn === undefined ? {} : { 'com.docker.compose.depends_on': dependsOn }),
    });
    await createMember({ group, name: nameC, server: server(ports[2] ?? 0), labels: compose('c', 'b:service_started:false') });
    await createMember({ group, name: nameB, server: server(ports[1] ?? 0), labels: compose('b', 'a:service_started:true') });
    await createMember({ group, name: nameA, server: server(ports[0] ?? 0), labels: compose('a') });
    const since = Math.floor(Date.now() / 1000);
    const { proxy, port } = await startStaticProxy(group, ports[2] ?? 0);
    try {
      await echoThrough(port, Buffer.from('x'));
      const starts = await Promise.all(names.map((name) => eventTime(since, group, name, 'start')));
      assert.ok((starts[0] ?? 0) < (starts[1] ?? 0) && (starts[1] ?? 0) < (starts[2] ?? 0), `start order: ${starts.join(' ')}`);
      const slept = await runCli(['sleep', group]);
      assert.equal(slept.code, 0, slept.stderr);
      const stops = await Promise.all(names.map((name) => eventTime(since, group, name, 'stop')));
      assert.ok((stops[2] ?? 0) < (stops[1] ?? 0) && (stops[1] ?? 0) < (stops[0] ?? 0), `stop order: ${stops.join(' ')}`);
    } finally {
      await proxy.stop();
    }
  });

  it('a cycle is a reported label problem, and the group still wakes', async () => {
    const group = uniqueName('cycle');
    const [aPort, bPort] = [await freePort(), await freePort()];
    const a = `${group}-a`;
    const b = `${group}-b`;
    await createMember({ group, name: a, server: server(aPort), labels: { 'proxytainer.group': group, 'proxytainer.depends-on': b } });
    await createMember({ group, name: b, server: server(bPort), labels: { 'proxytainer.group': group, 'proxytainer.depends-on': a } });
    const { proxy, port } = await startStaticProxy(group, aPort);
    try {
      assert.equal((await echoThrough(port, Buffer.from('round'))).toString(), 'round');
      await proxy.waitFor(new RegExp(`WARN  \\[${group}\\] label problem: dependencies form a cycle \\(${a} → ${b} → ${a}\\)`));
      const status = await runCli(['status', group, '--format', 'json']);
      assert.match(status.stdout, /dependencies form a cycle/);
    } finally {
      await proxy.stop();
    }
  });

  it('a member shared by two groups, each with its own proxy process, stops only after the second group sleeps', async () => {
    const [groupA, groupB] = [uniqueName('sharedA'), uniqueName('sharedB')];
    const [dbPort, aPort, bPort] = [await freePort(), await freePort(), await freePort()];
    const db = await createMember({ group: `${groupA},${groupB}`, name: uniqueName('shared-db'), server: server(dbPort) });
    const appA = await createMember({ group: groupA, server: server(aPort) });
    const appB = await createMember({ group: groupB, server: server(bPort) });
    const first = await startStaticProxy(groupA, aPort, ['--idle', '2']);
    const second = await startStaticProxy(groupB, bPort, ['--idle', '8']);
    try {
      await echoThrough(first.port, Buffer.from('a'));
      await echoThrough(second.port, Buffer.from('b'));
      assert.equal((await containerState(db)).status, 'running');
      await first.proxy.waitFor(new RegExp(`\\[${groupA}\\] State change \\(Stopping => Idle\\)`), 15_000);
      assert.equal((await containerState(appA)).status, 'exited');
      assert.equal((await containerState(db)).status, 'running', `group ${groupB} still uses the shared member`);
      assert.equal((await containerState(appB)).status, 'running');
      await second.proxy.waitFor(new RegExp(`\\[${groupB}\\] State change \\(Stopping => Idle\\)`), 20_000);
      assert.equal((await containerState(db)).status, 'exited', 'the last group to sleep stops it');
      const status = await runCli(['status', groupA, '--format', 'json']);
      const doc = JSON.parse(status.stdout) as { groups: { members: { list: { name: string; groups?: string[] }[] } }[] };
      const shared = doc.groups[0]?.members.list.find((m) => (m.groups ?? []).length > 1);
      assert.deepEqual(shared?.groups, [groupA, groupB].sort(), 'status marks the shared member');
    } finally {
      await first.proxy.stop();
      await second.proxy.stop();
    }
  });

  it('sleeping by pause: idle pauses, a connection unpauses, the ladder stops later, and an unpause by hand is followed', async () => {
    const group = uniqueName('pause');
    const upstream = await freePort();
    const member = await createMember({ group, server: server(upstream) });
    const since = Math.floor(Date.now() / 1000);
    const { proxy, port } = await startStaticProxy(group, upstream, ['--idle', '1', '--sleep', 'pause,stop:4s']);
    try {
      await echoThrough(port, Buffer.from('first'));
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member paused`), 10_000);
      assert.equal((await containerState(member)).status, 'paused');
      assert.equal((await echoThrough(port, Buffer.from('thawed'))).toString(), 'thawed');
      const name = (await member.inspect()).Name.slice(1);
      await eventTime(since, group, name, 'unpause');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member paused`), 10_000, 2);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Stopping\\): paused for 4s without traffic`), 15_000);
      await eventually(async () => (await containerState(member)).status === 'exited', 15_000, 'the ladder to stop the member');
      assert.equal((await member.inspect()).State.ExitCode, 0, 'thawed before the stop, so SIGTERM reached it (not a SIGKILL at the stop timeout)');

      await echoThrough(port, Buffer.from('again'));
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member paused`), 10_000, 3);
      await member.unpause();
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Running\\): every member is running again \\(unpaused outside proxytainer\\)`));
    } finally {
      await proxy.stop();
    }
  });

  it('a connection left open across a pause survives it, and its bytes wake the group', async () => {
    const group = uniqueName('doze');
    const upstream = await freePort();
    const member = await createMember({ group, server: server(upstream) });
    const { proxy, port } = await startStaticProxy(group, upstream, ['--idle', '1', '--sleep', 'pause']);
    const socket = await openSocket(port);
    try {
      const received = readAll(socket);
      socket.write('before ');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\): every member paused`), 10_000);
      assert.equal((await containerState(member)).status, 'paused');
      socket.end('after');
      const { data, error } = await received;
      assert.equal(error, null);
      assert.equal(data.toString(), 'before after');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): traffic on a connection left open while paused`));
    } finally {
      socket.destroy();
      await proxy.stop();
    }
  });
});

