import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, groupEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { runCli, startStaticProxy } from '../support/proxy-process.js';
import { runCommand } from '../support/run-command.js';

dockerSuite('wake rules: wake on data, wake from networks, backoff after failed wakes, an idle byte threshold', () => {
  const dirs: string[] = [];
  before(removeTestObjects);
  after(async () => {
    await removeTestObjects();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a member that exits at once is started only a handful of times for a burst; once fixed, the wake command succeeds at once', async () => {
    const group = uniqueName('backoff');
    const upstream = await freePort();
    const fix = mkdtempSync(join(tmpdir(), 'pt-fix-'));
    dirs.push(fix);
    // Broken until /fix/ok exists: then it serves.
    await createMember({
      group,
      binds: [`${fix}:/fix:ro`],
      cmd: ['sh', '-c', `test -f /fix/ok || exit 3; exec node /srv/server.mjs --port ${upstream} --host 127.0.0.1`],
    });
    const since = Math.floor(Date.now() / 1000);
    const { proxy, port } = await startStaticProxy(group, upstream, ['--start-timeout', '10s']);
    try {
      const burst: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        burst.push(openSocket(port).then(readAll, () => undefined));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await Promise.all(burst);
      const starts = (await groupEvents(group, since, 'start')).length;
      assert.ok(starts >= 3 && starts <= 7, `started ${starts} times for 60 connections over 9 s`);
      await proxy.waitFor(new RegExp(`WARN  \\[${group}\\] closed \\d+ connection\\(s\\) without waking: \\d+ wakes failed in a row; the next may begin in`));
      const doc = JSON.parse((await runCli(['status', group, '--format', 'json'])).stdout) as { groups: { backoff: { failures: number } | null }[] };
      assert.ok((doc.groups[0]?.backoff?.failures ?? 0) >= 3, 'status shows the failures');

      writeFileSync(join(fix, 'ok'), 'fixed');
      const woken = await runCli(['wake', group]);
      assert.equal(woken.code, 0, woken.stderr);
      const after = JSON.parse((await runCli(['status', group, '--format', 'json'])).stdout) as { groups: { backoff: { failures: number; retryInSeconds: number | null } | null }[] };
      assert.deepEqual(after.groups[0]?.backoff, { failures: 0, retryInSeconds: null }, 'one success resets it');
      assert.equal((await echoThrough(port, Buffer.from('fixed'))).toString(), 'fixed');
    } finally {
      await proxy.stop();
    }
  });

  it('--idle-threshold: a trickle below it lets the group sleep and closes the trickling connection; traffic above it keeps the group up', async () => {
    const group = uniqueName('trickle');
    const upstream = await freePort();
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const { proxy, port } = await startStaticProxy(group, upstream, ['--idle', '3', '--idle-threshold', '1kB']);
    try {
      const busy = await openSocket(port);
      const busyClosed = readAll(busy);
      // 2 kB a second: well above 1 kB per 3 s.
      for (let i = 0; i < 16; i++) {
        busy.write(Buffer.alloc(500));
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.equal((await containerState(member)).status, 'running', 'traffic above the threshold kept it up for more than an idle period');
      busy.destroy();
      await busyClosed;
      // A monitor's keep-alive: 10 bytes a second.
      const monitor = await openSocket(port);
      const closed = readAll(monitor);
      const ticking = setInterval(() => monitor.write('ping\n\n\n\n\n'), 1_000);
      try {
        await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): \\d+ bytes moved in the last 3s, fewer than the threshold of 1000`), 15_000);
        await closed; // the trickling connection was closed with the stop
      } finally {
        clearInterval(ticking);
        monitor.destroy();
      }
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`));
      assert.equal((await containerState(member)).status, 'exited');
    } finally {
      await proxy.stop();
    }
  });
  it('--wake-on data: a port scan and a silent connection start nothing; a real HTTP request does, and status shows the rule and what it turned away', async () => {
    const group = uniqueName('wakeon');
    const upstream = await freePort();
    // A real HTTP server: busybox httpd, serving the image's /srv.
    await createMember({ group, cmd: ['busybox', 'httpd', '-f', '-p', `127.0.0.1:${upstream}`, '-h', '/srv'] });
    const since = Math.floor(Date.now() / 1000);
    const { proxy, port } = await startStaticProxy(group, upstream, ['--wake-on', 'data', '--start-timeout', '2s']);
    try {
      // A connect scan (what nmap -sT or nc -z do): connect, then close.
      const scan = await openSocket(port);
      scan.end();
      await readAll(scan);
      // A probe that connects and says nothing: closed after the start timeout.
      const silent = await openSocket(port);
      await readAll(silent);
      assert.deepEqual(await groupEvents(group, since, 'start'), [], 'neither the scan nor the silent probe started the member');

      const curl = await runCommand('curl', ['-sS', '--max-time', '30', `http://127.0.0.1:${port}/server.mjs`]);
      assert.equal(curl.code, 0, curl.stderr);
      assert.equal(curl.stdout, readFileSync('test/fixtures/server.mjs', 'utf8'), 'the request and its answer arrived intact');
      assert.equal((await groupEvents(group, since, 'start')).length, 1);

      const doc = JSON.parse((await runCli(['status', group, '--format', 'json'])).stdout) as {
        groups: { settings: { wakeOn: string; wakeMinBytes: number } | null; turnedAway: { silent: number } | null }[];
      };
      const [status] = doc.groups;
      assert.deepEqual([status?.settings?.wakeOn, status?.settings?.wakeMinBytes, status?.turnedAway?.silent], ['data', 1, 2]);
      const table = await runCli(['status']);
      assert.match(table.stdout, new RegExp(`Wake rules:\\n(.*\\n)*  ${group}: wakes on data \\(1 byte\\); turned away 2 sent too little to wake it`));
    } finally {
      await proxy.stop();
    }
  });

  it('--wake-from: a client outside the networks wakes nothing and is logged; an IPv6 client inside wakes the group', async () => {
    const group = uniqueName('wakefrom');
    const upstream = await freePort();
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const since = Math.floor(Date.now() / 1000);
    // No --bind: the proxy listens on IPv4 and IPv6.
    const { proxy, port } = await startStaticProxy(group, upstream, ['--wake-from', '10.0.0.0/8,::1/128']);
    try {
      const outside = await openSocket(port, '127.0.0.1');
      await readAll(outside);
      await proxy.waitFor(new RegExp(`\\[${group}\\] closed 1 connection\\(s\\) on port ${port} from clients outside wake-from 10\\.0\\.0\\.0/8, ::1/128, while the group sleeps`));
      assert.deepEqual(await groupEvents(group, since, 'start'), []);
      assert.equal((await echoThrough(port, Buffer.from('over IPv6'), '::1')).toString(), 'over IPv6');
      assert.equal((await groupEvents(group, since, 'start')).length, 1);
      // Awake, it serves everyone.
      assert.equal((await echoThrough(port, Buffer.from('over IPv4'), '127.0.0.1')).toString(), 'over IPv4');
    } finally {
      await proxy.stop();
    }
  });
});
