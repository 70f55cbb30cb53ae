import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, groupEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';

/** The static-mode arguments for `group`, forwarding to `upstream`. */
function staticArgs(port: number, upstream: number, group: string, extra: readonly string[] = []): string[] {
  return ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, ...extra];
}

dockerSuite('faults proxytainer promises to survive', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('the proxy SIGKILLed while its group runs, then started again: it finds the group running, idles it out on time, and wakes it again', async () => {
    const group = uniqueName('killed');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const first = await ProxyProcess.start(staticArgs(port, upstream, group, ['--idle', '4']));
    const socket = /control socket at (\S+)/.exec(await first.waitFor(/control socket at /))?.[1] ?? '';
    await echoThrough(port, Buffer.from('before'));
    assert.equal((await containerState(member)).status, 'running');
    await first.stop('SIGKILL');
    assert.ok(existsSync(socket), 'a killed proxy leaves its control socket behind');

    const since = Math.floor(Date.now() / 1000);
    const second = await ProxyProcess.start(staticArgs(port, upstream, group, ['--idle', '4']));
    try {
      await second.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Running\\): every member is running \\(started outside proxytainer\\)`));
      await second.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): no traffic for 4s`), 15_000);
      await second.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`));
      assert.equal((await containerState(member)).status, 'exited');
      // Held while the group wakes again, and answered: nothing of the new process is lost.
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => echoThrough(port, Buffer.from(`after ${i}`))));
      assert.deepEqual(
        answers.map((a) => a.toString()),
        Array.from({ length: 20 }, (_, i) => `after ${i}`),
      );
      assert.equal((await groupEvents(group, since, 'start')).length, 1);
      const status = await runCli(['status', group, '--format', 'json']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(existsSync(socket), false, "status removed the killed proxy's socket");
    } finally {
      await second.stop();
    }
  });

  it('a member killed mid-stream: the client sees its connection close, the group goes Idle, and the next connection wakes it', async () => {
    const group = uniqueName('oom');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const since = Math.floor(Date.now() / 1000);
    const proxy = await ProxyProcess.start(staticArgs(port, upstream, group));
    try {
      const streaming = await openSocket(port);
      const closed = readAll(streaming);
      const flowing = new Promise((resolve) => streaming.once('data', resolve));
      const pump = setInterval(() => {
        if (!streaming.destroyed) streaming.write(Buffer.alloc(16 * 1024));
      }, 10);
      try {
        await flowing; // the echo is coming back through the proxy
        await member.kill(); // SIGKILL, as the OOM killer would
        const { data } = await closed;
        assert.ok(data.length > 0);
      } finally {
        clearInterval(pump);
        streaming.destroy();
      }
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Idle\\): .*exited \\(exit code 137\\).* \\(changed outside proxytainer\\)`));
      assert.equal((await echoThrough(port, Buffer.from('again'))).toString(), 'again');
      assert.equal((await groupEvents(group, since, 'start')).length, 2, 'the next connection woke it');
      assert.equal(proxy.exitedAlready, false);
    } finally {
      await proxy.stop();
    }
  });
});
