import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, createMember, createNetwork, dockerSuite, eventually, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { accepting, echoThrough, freePort } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';
import { SocketRelay } from '../support/socket-relay.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


async function discoveryProxy(args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProxyProcess> {
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const proxy = await ProxyProcess.start(['run', '--control-socket', socket, ...args], { env, ready: false });
  await proxy.waitFor(/discovery mode: following containers/);
  await proxy.waitFor(/control socket at|listening on|no containers labelled/, 10_000).catch(() => undefined);
  return proxy;
}

function labels(group: string, port: number, upstream?: string): Record<string, string> {
  return { 'proxytainer.port': String(port), ...(upstream === undefined ? {} : { 'proxytainer.upstream': upstream }), 'proxytainer.group': group };
}

dockerSuite('discovery mode', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a labelled container created after the daemon started gets a working listener within a second; removing it closes the listener', async () => {
    const group = uniqueName('late');
    const [port, upstream] = [await freePort(), await freePort()];
    const proxy = await discoveryProxy(['--group', group]);
    try {
      assert.equal(await accepting(port), false);
      const created = performance.now();
      const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'], labels: labels(group, port, `127.0.0.1:${upstream}`) });
      await eventually(() => accepting(port), 1_000, `a listener on ${port} within a second of docker create`);
      const tookMs = performance.now() - created;
      assert.ok(tookMs < 1_000, `listener after ${Math.round(tookMs)}ms`);
      assert.equal((await echoThrough(port, Buffer.from('woken'))).toString(), 'woken');
      assert.equal((await containerState(member)).status, 'running');
      await member.remove({ force: true });
      await eventually(async () => !(await accepting(port)), 1_000, 'the listener to close after docker rm');
      await proxy.waitFor(new RegExp(`closing port ${port} of group ${group}: no member declares it any more`));
      await proxy.waitFor(new RegExp(`group ${group} has no members any more`));
    } finally {
      await proxy.stop();
    }
  });

  it('a container recreated with new labels moves its listener', async () => {
    const group = uniqueName('move');
    const [first, second, upstream] = [await freePort(), await freePort(), await freePort()];
    const name = uniqueName('mover');
    const server = ['--port', String(upstream), '--host', '127.0.0.1'];
    const proxy = await discoveryProxy(['--group', group]);
    try {
      const old = await createMember({ group, name, server, labels: labels(group, first, `127.0.0.1:${upstream}`) });
      await eventually(() => accepting(first), 2_000, 'the first listener');
      await old.remove({ force: true });
      await createMember({ group, name, server, labels: labels(group, second, `127.0.0.1:${upstream}`) });
      await eventually(async () => (await accepting(second)) && !(await accepting(first)), 2_000, 'the listener to move');
      assert.equal((await echoThrough(second, Buffer.from('moved'))).toString(), 'moved');
    } finally {
      await proxy.stop();
    }
  });

  it("without proxytainer.upstream, forwards to the member's own address on its network, found at each wake", async () => {
    const network = await createNetwork();
    const group = uniqueName('bridge');
    const port = await freePort();
    const proxy = await discoveryProxy(['--group', group]);
    try {
      const name = uniqueName('member');
      const member = await createMember({ group, name, network, server: ['--port', String(port)], labels: labels(group, port) });
      await eventually(() => accepting(port), 2_000, 'the listener');
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} .*forwarding to ${name}:${port} \\(its address, found at each wake\\)`));
      assert.equal((await echoThrough(port, Buffer.from('via bridge'))).toString(), 'via bridge');
      const address = (await member.inspect()).NetworkSettings.Networks[network]?.IPAddress ?? 'none';
      await proxy.waitFor(new RegExp(`\\[${group}\\] forwarding .* to ${address.replaceAll('.', '\\.')}:${port}`));
    } finally {
      await proxy.stop();
    }
  });

  it('a loop is refused when the labels are read, before anything wakes: a host-network member without an upstream, or an upstream that is the listener', async () => {
    const group = uniqueName('loop');
    const [port, other] = [await freePort(), await freePort()];
    const proxy = await discoveryProxy(['--group', group]);
    try {
      const own = await createMember({ group, cmd: ['sleep', '600'], labels: labels(group, port) });
      await createMember({ group, cmd: ['sleep', '600'], labels: labels(group, other, `127.0.0.1:${other}`) });
      const name = (await own.inspect()).Name.slice(1);
      await proxy.waitFor(new RegExp(`WARN  container ${name}: label proxytainer\\.port: ${name} is on the host network, where the proxy itself listens on port ${port}; run the member on another port and name it with proxytainer\\.upstream=127\\.0\\.0\\.1:<its port>`));
      await proxy.waitFor(new RegExp(`WARN  container \\S+: label proxytainer\\.upstream: 127\\.0\\.0\\.1:${other} is port ${other}'s own listener, so connections would loop back into the proxy`));
      assert.equal(await accepting(port), false, 'no listener, so nothing to wake');
      assert.equal(await accepting(other), false);
      const status = await runCli(['status', group, '--format', 'json']);
      const doc = JSON.parse(status.stdout) as { problems: { container: string; label: string }[] };
      assert.ok(doc.problems.some((p) => p.container === name && p.label === 'proxytainer.port'), 'status shows it');
    } finally {
      await proxy.stop();
    }
  });

  it('a bad label on one container is reported and another group keeps serving; two groups on one port: the older wins', async () => {
    const [bad, good, older, newer] = [uniqueName('bad'), uniqueName('good'), uniqueName('older'), uniqueName('newer')];
    const [goodPort, goodUpstream, shared, sharedUpstream] = [await freePort(), await freePort(), await freePort(), await freePort()];
    await createMember({ group: bad, labels: { 'proxytainer.group': bad, 'proxytainer.port': 'eighty', 'proxytainer.upstream': 'nowhere' } });
    await createMember({ group: good, server: ['--port', String(goodUpstream), '--host', '127.0.0.1'], labels: labels(good, goodPort, `127.0.0.1:${goodUpstream}`) });
    await createMember({ group: older, server: ['--port', String(sharedUpstream), '--host', '127.0.0.1'], labels: labels(older, shared, `127.0.0.1:${sharedUpstream}`) });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // Docker's creation times have one-second resolution
    await createMember({ group: newer, labels: labels(newer, shared, '127.0.0.1:1') });
    const proxy = await discoveryProxy();
    try {
      await eventually(() => accepting(goodPort), 2_000, 'the good group');
      assert.equal((await echoThrough(goodPort, Buffer.from('fine'))).toString(), 'fine');
      await proxy.waitFor(/WARN {2}container bad-\w+-\w+: label proxytainer\.port: "eighty" is not a port/);
      await proxy.waitFor(new RegExp(`WARN {2}container ${newer}-\\w+: label proxytainer\\.port: port ${shared} is already claimed by group ${older}`));
      assert.equal((await echoThrough(shared, Buffer.from('older'))).toString(), 'older');
    } finally {
      await proxy.stop();
    }
  });

  it('a port already taken on the host is reported, and the other groups keep working', async () => {
    const [taken, fine] = [uniqueName('taken'), uniqueName('fine')];
    const [blocked, port, upstream] = [await freePort(), await freePort(), await freePort()];
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => {
      blocker.listen(blocked, resolve);
    });
    try {
      await createMember({ group: taken, labels: labels(taken, blocked, '127.0.0.1:1') });
      await createMember({ group: fine, server: ['--port', String(upstream), '--host', '127.0.0.1'], labels: labels(fine, port, `127.0.0.1:${upstream}`) });
      const proxy = await discoveryProxy();
      try {
        await proxy.waitFor(new RegExp(`label proxytainer\\.port: cannot listen on port ${blocked}: it is already in use`));
        await eventually(() => accepting(port), 2_000, 'the other group');
        assert.equal((await echoThrough(port, Buffer.from('ok'))).toString(), 'ok');
        assert.equal(proxy.exitedAlready, false);
      } finally {
        await proxy.stop();
      }
    } finally {
      blocker.close();
    }
  });

  it('group settings come from labels: proxytainer.idle', async () => {
    const group = uniqueName('idlelabel');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'], labels: { ...labels(group, port, `127.0.0.1:${upstream}`), 'proxytainer.idle': '1s' } });
    const proxy = await discoveryProxy(['--group', group]);
    try {
      await eventually(() => accepting(port), 2_000, 'the listener');
      await echoThrough(port, Buffer.from('x'));
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): no traffic for 1s`), 5_000);
    } finally {
      await proxy.stop();
    }
  });

  it('when the events stream breaks, listeners stay; what changed meanwhile is reconciled from a fresh listing', async () => {
    const [stay, gone, added] = [uniqueName('stay'), uniqueName('gone'), uniqueName('added')];
    const [stayPort, gonePort, addedPort, upstream] = [await freePort(), await freePort(), await freePort(), await freePort()];
    await createMember({ group: stay, server: ['--port', String(upstream), '--host', '127.0.0.1'], labels: labels(stay, stayPort, `127.0.0.1:${upstream}`) });
    const leaving = await createMember({ group: gone, labels: labels(gone, gonePort, '127.0.0.1:1') });
    const relay = new SocketRelay();
    await relay.open();
    const proxy = await discoveryProxy([], { DOCKER_HOST: relay.url });
    try {
      await eventually(async () => (await accepting(stayPort)) && (await accepting(gonePort)), 2_000, 'the first listeners');
      await relay.cut();
      await proxy.waitFor(/the Docker events stream from .* ended/);
      await leaving.remove({ force: true });
      await createMember({ group: added, labels: labels(added, addedPort, '127.0.0.1:1') });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await accepting(stayPort), true, 'listeners stay while the engine is away');
      assert.equal(await accepting(gonePort), true, 'nothing changes before the proxy can see it');
      await relay.open();
      await proxy.waitFor(/following Docker events at .* again; reconciling/, 15_000);
      await eventually(async () => (await accepting(addedPort)) && !(await accepting(gonePort)), 2_000, 'the reconcile after reconnecting');
      assert.equal((await echoThrough(stayPort, Buffer.from('still here'))).toString(), 'still here');
    } finally {
      await proxy.stop();
      await relay.cut();
    }
  });

  it('discovery with no labelled containers waits for some instead of exiting', async () => {
    const proxy = await discoveryProxy(['--group', uniqueName('nothing')]);
    try {
      await proxy.waitFor(/no containers labelled proxytainer\.group yet; waiting for some/);
      assert.equal(proxy.exitedAlready, false);
    } finally {
      assert.equal((await proxy.stop()).code, 0);
    }
  });

});
