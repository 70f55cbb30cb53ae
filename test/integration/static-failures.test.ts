import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, createMember, docker, dockerSuite, groupEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { startStaticProxy } from '../support/proxy-process.js';
import { SocketRelay } from '../support/socket-relay.js';

/** Connects and measures how long until the proxy closes the connection, and what it sent. */
async function closedAfter(port: number): Promise<{ ms: number; data: string }> {
  const started = performance.now();
  const socket = await openSocket(port);
  socket.write('anyone there?');
  const { data } = await readAll(socket);
  socket.destroy();
  return { ms: performance.now() - started, data: data.toString() };
}

dockerSuite('static mode: failures', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a member that exits during start closes held connections within seconds; the process lives and the next connection tries again', async () => {
    const group = uniqueName('exits');
    const upstream = await freePort();
    await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '600000', '--exit-after', '500', '--exit-code', '3'],
      healthIntervalMs: 200,
    });
    const { port, proxy } = await startStaticProxy(group, upstream);
    try {
      const first = await closedAfter(port);
      assert.equal(first.data, '');
      assert.ok(first.ms < 3_000, `closed after ${Math.round(first.ms)}ms`);
      await proxy.waitFor(new RegExp(`ERROR \\[${group}\\] wake failed: ${group}-\\w+ exited \\(exit code 3\\) \\S+ after start \\(closing 1 held connection\\(s\\)\\)`));
      const second = await closedAfter(port);
      assert.ok(second.ms < 3_000);
      assert.equal(proxy.matching(/State change \(Idle => Starting\)/).length, 2, 'the second connection tried again');
    } finally {
      assert.deepEqual(await proxy.stop(), { code: 0, signal: null }, 'the process lived on and exits cleanly');
    }
  });

  it('a member whose healthcheck fails is given up as soon as Docker calls it unhealthy', async () => {
    const group = uniqueName('unhealthy');
    const upstream = await freePort();
    await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '600000'],
      healthIntervalMs: 200,
      healthRetries: 2,
    });
    const { port, proxy } = await startStaticProxy(group, upstream);
    try {
      const result = await closedAfter(port);
      assert.ok(result.ms < 5_000, `closed after ${Math.round(result.ms)}ms`);
      await proxy.waitFor(/wake failed: .* is unhealthy/);
      await proxy.waitFor(/State change \(Stopping => Idle\)/, 15_000);
    } finally {
      await proxy.stop();
    }
  });

  it('a member that crashes right after starting fails the wake once; one connection does not restart it in a loop', async () => {
    const group = uniqueName('crashes');
    const upstream = await freePort();
    await createMember({ group, cmd: ['sh', '-c', 'sleep 0.5; exit 3'] }); // runs, never listens, exits
    const since = Math.floor(Date.now() / 1000);
    const { port, proxy } = await startStaticProxy(group, upstream, ['--start-timeout', '10s']);
    try {
      const first = await closedAfter(port);
      assert.equal(first.data, '');
      const failed = await proxy.waitFor(new RegExp(`ERROR \\[${group}\\] wake failed: ${group}-\\w+ exited \\(exit code 3\\) \\S+ after start \\(closing 1 connecting connection\\(s\\)\\)`));
      assert.ok(failed !== '');
      // Nothing else wakes it: one connection, one start (before the fix: 14 starts within the start timeout).
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(\\w+ => Idle\\)`));
      assert.equal((await groupEvents(group, since, 'start')).length, 1, 'Docker recorded one start');
      assert.equal(proxy.matching(/State change \(Idle => Starting\)/).length, 1);
      assert.equal(proxy.matching(/did not accept a connection/).length, 0, 'no misleading upstream warning');
    } finally {
      await proxy.stop();
    }
  });

  it('a member that never turns healthy is given up at the start timeout', async () => {
    const group = uniqueName('slow');
    const upstream = await freePort();
    await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '600000'],
      healthIntervalMs: 200,
      healthStartPeriodMs: 600_000,
    });
    const { port, proxy } = await startStaticProxy(group, upstream, ['--start-timeout', '2s']);
    try {
      const result = await closedAfter(port);
      assert.ok(result.ms >= 1_900 && result.ms < 3_500, `closed after ${Math.round(result.ms)}ms`);
      await proxy.waitFor(/wake failed: not ready after 2s: .* is not healthy yet/);
    } finally {
      await proxy.stop();
    }
  });

  it('a start Docker refuses closes the connection at once with Docker\'s reason in the log', async () => {
    const group = uniqueName('refused');
    const upstream = await freePort();
    await createMember({ group, cmd: ['/no/such/program'] });
    const { port, proxy } = await startStaticProxy(group, upstream);
    try {
      const result = await closedAfter(port);
      assert.ok(result.ms < 2_000, `closed after ${Math.round(result.ms)}ms`);
      await proxy.waitFor(/wake failed: could not start .*: Docker refused \(HTTP \d+\): .*no such file or directory/);
      assert.equal((await closedAfter(port)).data, '', 'still listening, and tries again');
    } finally {
      assert.equal((await proxy.stop()).code, 0);
    }
  });

  it('a group with no members yet closes connections at once and keeps listening; members created later are found', async () => {
    const group = uniqueName('empty');
    const upstream = await freePort();
    const { port, proxy } = await startStaticProxy(group, upstream);
    try {
      const result = await closedAfter(port);
      assert.ok(result.ms < 1_000);
      // Swarm services are named too where the engine is a swarm manager (another test may have made it one).
      await proxy.waitFor(new RegExp(`wake failed: the group has no members yet: no containers(?: or Swarm services)? labelled proxytainer\\.group=${group} exist yet`));
      await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
      assert.equal((await echoThrough(port, Buffer.from('now'))).toString(), 'now');
    } finally {
      await proxy.stop();
    }
  });

  it('a member recreated with a new ID (compose --force-recreate) is found at the next wake', async () => {
    const group = uniqueName('recreate');
    const upstream = await freePort();
    const server = ['--port', String(upstream), '--host', '127.0.0.1'];
    const first = await createMember({ group, server });
    const { port, proxy } = await startStaticProxy(group, upstream, ['--idle', '1']);
    try {
      assert.equal((await echoThrough(port, Buffer.from('one'))).toString(), 'one');
      await proxy.waitFor(/State change \(Stopping => Idle\)/, 15_000);
      await first.remove({ force: true });
      const second = await createMember({ group, server });
      assert.equal((await echoThrough(port, Buffer.from('two'))).toString(), 'two');
      assert.equal((await containerState(second)).status, 'running');
    } finally {
      await proxy.stop();
    }
  });

  it('past --max-held, new connections to a sleeping group are refused with a log line; the held ones are answered', async () => {
    const group = uniqueName('flood');
    const upstream = await freePort();
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '1000'], healthIntervalMs: 200 });
    const { port, proxy } = await startStaticProxy(group, upstream, ['--max-held', '5']);
    try {
      const results: Promise<string>[] = [];
      for (let i = 0; i < 8; i++) {
        results.push(echoThrough(port, Buffer.from(`c${i}`)).then((b) => b.toString(), () => 'refused'));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const answers = await Promise.all(results);
      assert.deepEqual(answers.slice(0, 5), ['c0', 'c1', 'c2', 'c3', 'c4']);
      assert.deepEqual(answers.slice(5).map((a) => a === 'refused' || a === ''), [true, true, true]);
      await proxy.waitFor(/refused 1 connection\(s\) on port \d+: 5 connections are already held waiting for a wake \(raise --max-held/);
    } finally {
      await proxy.stop();
    }
  });

  it('when the engine goes away the proxy keeps listening, reconnects, and reconciles what changed meanwhile', async () => {
    const group = uniqueName('outage');
    const upstream = await freePort();
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const relay = new SocketRelay();
    await relay.open();
    const { port, proxy } = await startStaticProxy(group, upstream, [], { DOCKER_HOST: relay.url });
    try {
      await proxy.waitFor(/following Docker events/);
      await relay.cut();
      await proxy.waitFor(/the Docker events stream from .* ended .*; reconnecting/);
      const during = await closedAfter(port);
      assert.equal(during.data, '');
      await proxy.waitFor(/wake failed: cannot list the group's members through unix:\/\/.*relay.*: cannot reach Docker/);
      await member.start();
      await relay.open();
      await proxy.waitFor(/following Docker events at .* again; reconciling/, 15_000);
      await proxy.waitFor(/State change \(Idle => Running\): every member is running \(started outside proxytainer\)/, 5_000);
      assert.equal((await echoThrough(port, Buffer.from('back'))).toString(), 'back');
    } finally {
      await proxy.stop();
      await relay.cut();
    }
  });

  it('a group with one member already running wakes and sleeps without an error', async () => {
    const group = uniqueName('already');
    const [upstream, other] = [await freePort(), await freePort()];
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const running = await createMember({ group, server: ['--port', String(other), '--host', '127.0.0.1'] });
    await running.start();
    const { port, proxy } = await startStaticProxy(group, upstream, ['--idle', '1']);
    try {
      assert.equal((await echoThrough(port, Buffer.from('x'))).toString(), 'x');
      await proxy.waitFor(/State change \(Stopping => Idle\)/, 15_000);
      assert.equal(proxy.matching(/ERROR|WARN/).length, 0, proxy.log);
    } finally {
      await proxy.stop();
    }
    const containers = await docker.listContainers({ all: true, filters: { label: [`proxytainer.group=${group}`] } });
    assert.deepEqual(containers.map((c) => c.State), ['exited', 'exited']);
  });
});
