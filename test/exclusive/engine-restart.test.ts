import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { containerState, createMember, docker, dockerSuite, eventually, removeTestObjects, ROOT, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort } from '../support/net.js';
import { ProxyProcess } from '../support/proxy-process.js';

const PID_FILE = '/var/run/docker.pid';

/** Why dockerd cannot be restarted from here, or null when it can (root, and started by scripts/engine.sh). */
function cannotRestart(): string | null {
  if (process.getuid?.() !== 0) return 'restarting dockerd needs root';
  if (process.env['DOCKER_HOST'] !== undefined && process.env['DOCKER_HOST'] !== 'unix:///var/run/docker.sock') return 'the tests use another engine';
  if (!existsSync(PID_FILE)) return `no ${PID_FILE}: dockerd was not started by scripts/engine.sh`;
  return null;
}

/** Stops dockerd (its containers stop with it, as without live-restore) and starts it again with scripts/engine.sh. */
async function restartDockerd(): Promise<void> {
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await eventually(
    () => {
      try {
        process.kill(pid, 0);
        return Promise.resolve(false);
      } catch {
        return Promise.resolve(true);
      }
    },
    60_000,
    'dockerd to exit',
  );
  execFileSync('bash', ['scripts/engine.sh'], { cwd: ROOT, stdio: 'ignore' });
}


/** Whether something listens on `port`: binding it fails. Unlike a connect, this cannot wake a group. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(true);
    });
    probe.listen(port, () => {
      probe.close(() => {
        resolve(false);
      });
    });
  });
}

const reason = cannotRestart();
const skip = reason !== null && (process.env['CI'] ?? '') === '' ? reason : false;

dockerSuite('when dockerd itself restarts', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a discovery daemon keeps its listeners, reconnects, and reconciles every group from a fresh listing', { skip, timeout: 180_000 }, async () => {
    if (reason !== null) throw new Error(reason);
    const [killed, survivor] = [uniqueName('killed'), uniqueName('always')];
    const [killedPort, killedUpstream, survivorPort, survivorUpstream] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const label = (group: string, port: number, upstream: number): Record<string, string> => ({
      'proxytainer.group': group,
      'proxytainer.port': String(port),
      'proxytainer.upstream': `127.0.0.1:${upstream}`,
    });
    const killedMember = await createMember({ group: killed, server: ['--port', String(killedUpstream), '--host', '127.0.0.1'], labels: label(killed, killedPort, killedUpstream) });
    const survivorMember = await createMember({ group: survivor, server: ['--port', String(survivorUpstream), '--host', '127.0.0.1'], labels: label(survivor, survivorPort, survivorUpstream) });
    await survivorMember.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
    const proxy = await ProxyProcess.start(['run', '--control-socket', socket, '--idle', '1h'], { ready: false });
    try {
      // Waiting on the log, not on a connection: a connection would wake the group.
      await proxy.waitFor(new RegExp(`\\[${killed}\\] listening on port ${killedPort}`), 10_000);
      await proxy.waitFor(new RegExp(`\\[${survivor}\\] listening on port ${survivorPort}`), 10_000);
      await killedMember.start();
      await survivorMember.start();
      await proxy.waitFor(new RegExp(`\\[${killed}\\] State change \\(Idle => Running\\)`), 10_000);
      await proxy.waitFor(new RegExp(`\\[${survivor}\\] State change \\(Idle => Running\\)`), 10_000);

      await restartDockerd();

      await proxy.waitFor(/the Docker events stream from .* ended/, 30_000);
      await proxy.waitFor(/following Docker events at .* again; reconciling/, 60_000);
      // Asked without a connection: one would wake the group, which the reconcile may have found asleep by now.
      assert.equal(await portTaken(killedPort), true, 'the listener stayed');
      // dockerd stopped every container; only the one with restart=always came back.
      let seen = '';
      await eventually(
        async () => {
          const state = await containerState(killedMember);
          seen = JSON.stringify(state);
          return state.status === 'exited';
        },
        30_000,
        'the killed member to be exited',
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; last seen: ${seen}`);
      });
      await proxy.waitFor(new RegExp(`\\[${killed}\\] State change \\(Running => Idle\\)`), 30_000);
      await eventually(async () => (await containerState(survivorMember)).status === 'running', 30_000, 'the restart=always member to be back');
      await eventually(() => Promise.resolve(proxy.matching(new RegExp(`\\[${survivor}\\] State change`)).at(-1)?.includes('=> Running') === true), 30_000, 'the survivor to be Running again');

      assert.equal((await echoThrough(killedPort, Buffer.from('woken after the restart'))).toString(), 'woken after the restart');
      assert.equal((await echoThrough(survivorPort, Buffer.from('never asleep'))).toString(), 'never asleep');
      assert.equal(proxy.exitedAlready, false);
    } finally {
      await proxy.stop();
      await docker.getContainer(survivorMember.id).update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }).catch(() => undefined);
    }
  });
});
