/**
 * Cold wake: time from connect to first byte when the group is asleep, next
 * to what `docker start` plus the first successful connect costs by itself
 * (the floor). Runs the two alternately so drift hits both alike.
 *
 *   node --import tsx bench/cold-wake.ts [--rounds 15]
 */
import { connect } from 'node:net';
import Docker from 'dockerode';
import { ProxyProcess } from '../test/support/proxy-process.js';
import { createMember, removeTestObjects, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { median } from './stats.js';

/** Connects and resolves when the first byte arrives; rejects if the connection fails. */
function firstByte(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => {
      reject(new Error('closed before the first byte'));
    });
  });
}

/** Retries the connect as fast as it fails: the best any waiter could do. */
async function firstByteWithRetry(port: number): Promise<void> {
  for (;;) {
    try {
      await firstByte(port);
      return;
    } catch {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

async function waitHealthy(container: Docker.Container): Promise<void> {
  for (;;) {
    const info = await container.inspect();
    if (info.State.Health?.Status === 'healthy') return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export interface ColdWakeResult {
  readonly variant: string;
  readonly floorMs: number;
  readonly proxyMs: number;
  readonly rounds: number;
}

export async function measureColdWake(rounds: number, health: boolean): Promise<ColdWakeResult> {
  const group = uniqueName(health ? 'bench-health' : 'bench-cold');
  const [port, upstream] = [await freePort(), await freePort()];
  const container = await createMember({
    group,
    server: ['--port', String(upstream), '--host', '127.0.0.1', '--greet'],
    ...(health ? { healthIntervalMs: 50 } : {}),
  });
  const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h'], {
    env: { PROXYTAINER_LOG: 'info' },
  });
  const floor: number[] = [];
  const viaProxy: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Floor: docker start, (health,) then connect until the server answers.
      let started = performance.now();
      await container.start();
      if (health) await waitHealthy(container);
      await firstByteWithRetry(upstream);
      floor.push(performance.now() - started);
      await container.stop({ t: 5 });
      await proxy.waitFor(/State change \(Running => Idle\)/, 15_000, 2 * round + 1);

      // Through proxytainer: one connect to the sleeping group.
      started = performance.now();
      await firstByte(port);
      viaProxy.push(performance.now() - started);
      await container.stop({ t: 5 });
      await proxy.waitFor(/State change \(Running => Idle\)/, 15_000, 2 * round + 2);
    }
  } finally {
    await proxy.stop();
    await container.remove({ force: true });
  }
  return { variant: health ? 'healthcheck every 50ms' : 'no healthcheck', floorMs: median(floor), proxyMs: median(viaProxy), rounds };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 15;
  await removeTestObjects();
  for (const health of [false, true]) {
    const r = await measureColdWake(rounds, health);
    console.log(
      `${r.variant.padEnd(24)} floor (docker start + first connect) ${r.floorMs.toFixed(1)} ms   proxytainer ${r.proxyMs.toFixed(1)} ms   overhead ${(r.proxyMs - r.floorMs).toFixed(1)} ms   (median of ${r.rounds})`,
    );
  }
}
