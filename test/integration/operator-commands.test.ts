import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { StatusDocument } from '../../src/control/status-document.js';
import { dockerGroupId } from '../../src/control/control-paths.js';
import { containerState, createMember, dockerSuite, eventually, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { accepting, echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';

function labels(group: string, port: number, upstream: number): Record<string, string> {
  return { 'proxytainer.group': group, 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream}`, 'proxytainer.idle': '30s' };
}

async function daemon(group: string): Promise<{ proxy: ProxyProcess; socket: string }> {
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const proxy = await ProxyProcess.start(['run', '--group', group, '--control-socket', socket]);
  await proxy.waitFor(/control socket at/);
  return { proxy, socket };
}

async function statusJson(args: readonly string[]): Promise<StatusDocument> {
  const { code, stdout, stderr } = await runCli(['status', '--format', 'json', ...args]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as StatusDocument;
}

dockerSuite('status, wake and sleep', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('status against a running daemon: a table and the JSON document, with label problems', async () => {
    const group = uniqueName('shown');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({ group, name: `${group}-web`, server: ['--port', String(upstream), '--host', '127.0.0.1'], labels: labels(group, port, upstream) });
    await createMember({ group, name: `${group}-bad`, cmd: ['sleep', '600'], labels: { 'proxytainer.group': group, 'proxytainer.idle': 'soon' } });
    const { proxy, socket } = await daemon(group);
    try {
      await eventually(() => accepting(port), 2_000, 'the listener');
      await echoThrough(port, Buffer.alloc(1234));
      const table = await runCli(['status', '--control-socket', socket]);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.split('\n');
      assert.match(lines[0] ?? '', /^Proxy \d+: discovery mode, proxytainer \d+\.\d+\.\d+, Docker unix:\/\/.*, control .*\.sock$/);
      assert.match(table.stdout, /GROUP\s+STATE\s+MEMBERS\s+LISTENERS\s+CONNECTIONS\s+BYTES IN\/OUT\s+LAST ACTIVITY\s+SLEEPS IN/);
      const row = lines.find((line) => line.startsWith(group)) ?? '';
      assert.match(row, new RegExp(`^${group}\\s+Running\\s+2/2\\s+${port} → 127\\.0\\.0\\.1:${upstream}\\s+\\d+ open, 0 held\\s+1\\.2 kB / 1\\.2 kB\\s+\\S+ ago\\s+\\d+s`));
      assert.match(table.stdout, new RegExp(`Problems:\\n  ! ${group}-bad: proxytainer\\.idle: "soon" is not a duration`));
      assert.ok(!table.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');

      const doc = await statusJson(['--control-socket', socket, group]);
      assert.equal(doc.schemaVersion, 1);
      assert.equal(doc.proxies.length, 1);
      assert.equal(doc.proxies[0]?.mode, 'discovery');
      assert.equal(doc.proxies[0].controlSocket, socket);
      const entry = doc.groups[0];
      assert.ok(entry !== undefined);
      assert.equal(entry.name, group);
      assert.equal(entry.proxy, doc.proxies[0].pid);
      assert.equal(entry.state, 'Running');
      assert.deepEqual({ running: entry.members.running, total: entry.members.total }, { running: 2, total: 2 });
      assert.deepEqual(entry.listeners, [{ port, protocol: 'tcp', bind: null, upstream: `127.0.0.1:${upstream}`, problem: null }]);
      assert.deepEqual(entry.bytes, { in: 1234, out: 1234 });
      assert.equal(entry.connections.held, 0);
      assert.equal(entry.settings?.idleSeconds, 30);
      assert.ok(entry.sleepsInSeconds !== null && entry.sleepsInSeconds > 25 && entry.sleepsInSeconds <= 30);
      assert.ok(entry.lastActivity !== null && Date.now() - Date.parse(entry.lastActivity) < 10_000);
      assert.equal(entry.problems.length, 1);
      assert.equal(entry.problems[0]?.label, 'proxytainer.idle');
    } finally {
      await proxy.stop();
    }
  });

  it('status with no proxy running answers from Docker alone and says so', async () => {
    const group = uniqueName('alone');
    const port = await freePort();
    await createMember({ group, labels: labels(group, port, 1) });
    const nowhere = join(tmpdir(), `${uniqueName('nobody')}.sock`);
    const table = await runCli(['status', group, '--control-socket', nowhere]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^No proxy is running; this is what Docker at unix:\/\/\S+ says\./);
    assert.match(table.stdout, new RegExp(`${group}\\s+Idle\\s+0/1\\s+${port} → 127\\.0\\.0\\.1:1\\s+-`));
    const doc = await statusJson([group, '--control-socket', nowhere]);
    assert.deepEqual(doc.proxies, []);
    assert.match(doc.docker?.endpoint ?? '', /^unix:\/\//);
    assert.equal(doc.groups[0]?.proxy, null);
    assert.equal(doc.groups[0].state, 'Idle');
    const unknown = await runCli(['status', uniqueName('nosuch'), '--control-socket', nowhere]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error: no group named nosuch-\w+: no container is labelled proxytainer\.group=nosuch-\w+ and no proxy manages it/);
  });

  it('status finds a proxy in the default control directory; its socket admits only the owner and the docker group', async () => {
    const group = uniqueName('default');
    const proxy = await ProxyProcess.start(['run', '--group', group], { ready: false });
    try {
      const line = await proxy.waitFor(/control socket at /);
      const socket = /control socket at (\S+)/.exec(line)?.[1] ?? '';
      const mode = statSync(socket).mode & 0o777;
      assert.equal(mode, 0o660, `socket mode ${mode.toString(8)}`);
      const gid = dockerGroupId();
      if (gid !== undefined) assert.equal(statSync(socket).gid, gid, 'the docker group may use it');
      const doc = await statusJson([]);
      assert.ok(doc.proxies.some((p) => p.controlSocket === socket), JSON.stringify(doc.proxies));
    } finally {
      await proxy.stop();
    }
  });

  it('wake through the running proxy waits until ready and starts its idle clock; sleep puts it back, cutting open connections', async () => {
    const group = uniqueName('operated');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '700'],
      healthIntervalMs: 200,
      labels: labels(group, port, upstream),
    });
    const { proxy, socket } = await daemon(group);
    try {
      const woken = await runCli(['wake', group, '--control-socket', socket]);
      assert.equal(woken.code, 0, woken.stderr);
      assert.match(woken.stderr, new RegExp(`^✔ ${group} is ready in \\S+, through proxy \\d+$`), 'one plain line when not a terminal');
      assert.deepEqual(await containerState(member), { status: 'running', health: 'healthy' });
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): wake requested \\(proxytainer wake\\)`));
      const doc = await statusJson(['--control-socket', socket, group]);
      assert.equal(doc.groups[0]?.state, 'Running');
      assert.ok((doc.groups[0].sleepsInSeconds ?? 0) > 25);

      const open = await openSocket(port);
      const cut = readAll(open);
      open.write('x');
      await proxy.waitFor(/forwarding .* to 127\.0\.0\.1/);
      const slept = await runCli(['sleep', group, '--control-socket', socket]);
      assert.equal(slept.code, 0, slept.stderr);
      assert.match(slept.stderr, new RegExp(`✔ ${group} is asleep`));
      await cut;
      assert.equal((await containerState(member)).status, 'exited');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): sleep requested \\(proxytainer sleep\\)`));
      await proxy.waitFor(/closing 1 open connection\(s\): the group is being stopped/);

      const quick = await runCli(['wake', group, '--no-wait', '--control-socket', socket]);
      assert.equal(quick.code, 0, quick.stderr);
      assert.match(quick.stderr, new RegExp(`✔ ${group} is waking, through proxy`));
      await proxy.waitFor(/State change \(Starting => Running\)/, 10_000, 2);
    } finally {
      await proxy.stop();
    }
  });

  it('wake and sleep with no proxy running work straight through Docker, and a failed wake exits 1 with the reason', async () => {
    const group = uniqueName('direct');
    const upstream = await freePort();
    const nowhere = join(tmpdir(), `${uniqueName('nobody')}.sock`);
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '500'], healthIntervalMs: 200 });
    const woken = await runCli(['wake', group, '--control-socket', nowhere]);
    assert.equal(woken.code, 0, woken.stderr);
    assert.match(woken.stderr, new RegExp(`✔ ${group} is ready in \\S+, through Docker; no proxy manages it`));
    assert.deepEqual(await containerState(member), { status: 'running', health: 'healthy' });
    const slept = await runCli(['sleep', group, '--control-socket', nowhere]);
    assert.equal(slept.code, 0, slept.stderr);
    assert.equal((await containerState(member)).status, 'exited');

    const broken = uniqueName('broken');
    await createMember({ group: broken, cmd: ['/no/such/program'] });
    const failed = await runCli(['wake', broken, '--control-socket', nowhere, '--timeout', '10s']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`✖ ${broken} is not ready: wake failed: could not start .*no such file or directory`));
  });
});
