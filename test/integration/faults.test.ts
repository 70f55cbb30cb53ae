import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import type { StatusDocument } from '../../src/control/status-document.js';
import { containerState, createMember, dockerSuite, groupEvents, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';
import { until } from '../support/until.js';

const run = promisify(execFile);

/** Resident memory of a process, in bytes. */
function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}

/** Held connections of `group` as `status --format json` reports them. */
async function heldNow(group: string): Promise<number> {
  const status = await runCli(['status', group, '--format', 'json']);
  assert.equal(status.code, 0, status.stderr);
  return (JSON.parse(status.stdout) as StatusDocument).groups[0]?.connections.held ?? NaN;
}

/** A connection that stays open; `closed` settles when the other side closes it (or it fails). */
function openLong(port: number): { socket: Socket; closed: Promise<void>; isClosed: () => boolean } {
  const socket = connect({ port, host: '127.0.0.1' });
  let done = false;
  socket.on('error', () => undefined);
  socket.resume();
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      done = true;
      resolve();
    });
  });
  return { socket, closed, isClosed: () => done };
}

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

    // Docker's `since` is whole seconds: the next one, so the first proxy's start (before now) is never counted; the wake counted comes 4 s later at least.
    const since = Math.ceil(Date.now() / 1000);
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

  it('a flood past --max-held and past the open-file limit: refused and counted, the process stays up, memory bounded, and a real client is served after', async (t) => {
    const MAX_HELD = 64;
    const NOFILE = 256; // room for 64 held connections and the process's own ~30 descriptors, not for 64 + 200 forwarded ones (two each)
    const FLOOD = 3000;
    const group = uniqueName('flood');
    const [port, upstream] = [await freePort(), await freePort()];
    // Healthy only when the test says so: the group stays Starting, holding, for the whole flood.
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1', '--healthy-after', '3600000'], healthIntervalMs: 200 });
    const proxy = await ProxyProcess.start(staticArgs(port, upstream, group, ['--max-held', String(MAX_HELD)]), { wrapper: ['prlimit', `--nofile=${NOFILE}`] });
    const sockets: Socket[] = [];
    const pid = proxy.pid ?? NaN;
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, proxy.exitedAlready ? 0 : rssOf(pid))), 50);
    const flood = { on: true }; // an object: the loops below read it after awaits
    let watching = Promise.resolve();
    try {
      let mostHeld = 0;
      let statusRuns = 0;
      watching = (async () => {
        while (flood.on) {
          mostHeld = Math.max(mostHeld, await heldNow(group));
          statusRuns++;
        }
      })();
      const started = performance.now();
      // 200 clients at a time; one that is held stays open and keeps its slot, one refused makes room for the next.
      let opened = 0;
      let refused = 0;
      for (let slot = 0; slot < 200; slot++) {
        void (async () => {
          while (flood.on && opened < FLOOD) {
            opened++;
            const client = openLong(port);
            sockets.push(client.socket);
            await client.closed;
            refused++;
          }
        })();
      }
      await until(() => refused >= FLOOD - MAX_HELD, 'every connection past --max-held is closed (if not, more than --max-held are held)', 30_000);
      const floodMs = performance.now() - started;
      flood.on = false;
      await watching;
      mostHeld = Math.max(mostHeld, await heldNow(group));
      clearInterval(sampler);
      assert.equal(refused, FLOOD - MAX_HELD, 'exactly --max-held connections are held, the rest are closed');
      assert.equal(mostHeld, MAX_HELD, `status never showed more than --max-held held (${statusRuns} readings)`);
      // The refusals, logged at most every 5 s, sum to what the clients saw once the last window is out.
      const refusalLines = (): number[] => proxy.matching(/refused \d+ connection\(s\) on port/).map((line) => Number(/refused (\d+)/.exec(line)?.[1]));
      await until(() => refusalLines().reduce((a, b) => a + b, 0) >= refused, 'the refusal log sums to the refused count', 10_000);
      assert.equal(refusalLines().reduce((a, b) => a + b, 0), refused, refusalLines().join(' + '));
      assert.ok(refusalLines().length <= 2 + Math.ceil(floodMs / 5000), `throttled: ${refusalLines().length} lines in ${Math.round(floodMs)} ms`);
      // Memory: 64 held connections (nothing sent, so no read buffers filled) and 2,936 connections accepted and freed;
      // what may grow is V8's heap between collections. 48 MiB over the idle process allows that and catches a leak
      // per connection of more than ~16 KiB.
      assert.ok(peak - baseline < 48 * 1024 * 1024, `RSS grew from ${baseline >> 20} MiB to ${peak >> 20} MiB`);
      t.diagnostic(`flood: ${FLOOD} connections in ${Math.round(floodMs)} ms, ${refused} refused in ${refusalLines().length} log lines; held at most ${mostHeld}; RSS ${baseline >> 20} -> ${peak >> 20} MiB`);

      // The group wakes: the held connections are served.
      await run('docker', ['exec', member.id, 'touch', '/tmp/healthy']);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Starting => Running\\)`), 15_000);
      const held = sockets.filter((socket) => !socket.destroyed);
      assert.equal(held.length, MAX_HELD);
      for (const socket of held) socket.write('y');
      await until(() => held.every((socket) => socket.bytesRead > 0), 'every held connection is forwarded and echoed');

      // Past the open-file limit: 200 more connections held open through a running group, two descriptors each.
      const more = Array.from({ length: 200 }, () => openLong(port));
      sockets.push(...more.map((c) => c.socket));
      for (const { socket } of more) socket.write('x');
      await until(() => more.every((c) => c.isClosed() || c.socket.bytesRead > 0), 'each extra connection is answered or closed', 30_000);
      const served = more.filter((c) => !c.isClosed()).length;
      t.diagnostic(`past the open-file limit: ${served} of 200 extra connections served, ${200 - served} closed`);
      assert.ok(served > 0, 'connections are still served up to the limit');
      assert.equal(proxy.exitedAlready, false, 'the process stays up at its open-file limit');
      for (const socket of sockets) socket.destroy();
      // Once the pressure is gone: status answers, and a real client (socat) is served.
      assert.equal(await heldNow(group), 0);
      const { stdout } = await run('sh', ['-c', `printf 'after the flood' | socat -t 5 - TCP:127.0.0.1:${port}`]);
      assert.equal(stdout, 'after the flood');
      assert.equal(proxy.exitedAlready, false);
    } finally {
      flood.on = false;
      clearInterval(sampler);
      await watching.catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      await proxy.stop();
    }
  });
});
