import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, groupEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { runCli, startStaticProxy } from '../support/proxy-process.js';

dockerSuite('wake rules: backoff after failed wakes, an idle byte threshold', () => {
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
});
