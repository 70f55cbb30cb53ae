/**
 * Cold wake: time from connect to first byte when the group is asleep, next
 * to what `docker start` plus the first successful connect costs by itself
 * (the floor). Runs the two alternately, the container stopped in between, so
 * drift hits both alike. Three members: one with no healthcheck, one with a
 * healthcheck every 50 ms (every answer through the proxy must come after
 * Docker reported the member healthy), and one that sleeps by pause, whose
 * floor is `docker unpause` plus the first connect.
 *
 * Part of `npm run bench`; alone: node --import tsx bench/cold-wake.ts [--rounds 15]
 */
import { connect } from 'node:net';
import type Docker from 'dockerode';
import { createMember, recordedEvents, removeTestObjects, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { startProxytainer } from './contenders.js';
import { type Spawned, stopAll } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

export const COLD_WAKE_TARGET_MS = 30;

/** Connects and resolves with the first chunk and when it arrived (epoch ms); rejects if the connection fails. */
export function firstByte(port: number): Promise<{ text: string; at: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('data', (chunk: Buffer) => {
      const at = Date.now();
      socket.destroy();
      resolve({ text: chunk.toString(), at });
    });
    socket.once('error', reject);
    socket.once('close', () => {
      reject(new Error('closed before the first byte'));
    });
  });
}

/** Retries the connect as fast as it fails: the best any waiter could do. */
export async function firstByteWithRetry(port: number): Promise<void> {
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

/** When Docker reported `container` healthy (epoch ms), from its events since `sinceMs`. */
async function healthyAt(container: Docker.Container, sinceMs: number): Promise<number | null> {
  const events = await recordedEvents(Math.floor(sinceMs / 1000), { container: [container.id] });
  const healthy = events.find((event) => event.Action === 'health_status: healthy' && event.timeNano / 1e6 >= sinceMs);
  return healthy === undefined ? null : healthy.timeNano / 1e6;
}

export interface ColdWakeResult {
  readonly variant: string;
  readonly floor: number[];
  readonly viaProxy: number[];
  /** Health variant: rounds whose answer came after Docker's healthy event, and rounds checked. */
  readonly honoured: { ok: number; of: number } | null;
}

/**
 * Waits until the proxy has the group Idle again after a stop: its latest state
 * change ends in Idle and stays so for a moment (a round can be so short that
 * the proxy never saw the member running, so lines cannot be counted).
 */
async function waitIdle(proxy: Spawned): Promise<void> {
  const deadline = Date.now() + 15_000;
  const idle = (): boolean => /=> Idle\)/.test(proxy.matching(/State change \(/).at(-1) ?? 'State change (Idle => Idle)');
  for (let quiet = 0; quiet < 3; ) {
    if (Date.now() > deadline) throw new Error(`the proxy did not go back to Idle within 15 s; output ends:\n${proxy.tail()}`);
    quiet = idle() ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How the member sleeps between rounds, and whether it has a health check. */
export type ColdWakeVariant = 'stop' | 'health' | 'pause';

const VARIANT_NAMES: Readonly<Record<ColdWakeVariant, string>> = {
  stop: 'no healthcheck',
  health: 'healthcheck every 50 ms',
  pause: 'from pause',
};

export async function measureColdWake(rounds: number, variant: ColdWakeVariant): Promise<ColdWakeResult> {
  const health = variant === 'health';
  const paused = variant === 'pause';
  const group = uniqueName(`bench-${variant}`);
  const [port, upstream] = [await freePort(), await freePort()];
  const container = await createMember({
    group,
    server: ['--port', String(upstream), '--host', '127.0.0.1', '--greet'],
    ...(health ? { healthIntervalMs: 50 } : {}),
  });
  const floor: number[] = [];
  const viaProxy: number[] = [];
  let honoured = health ? { ok: 0, of: 0 } : null;
  let proxy: Spawned | null = null;
  try {
    proxy = await startProxytainer('proxytainer', ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1', ...(paused ? ['--sleep', 'pause'] : [])]);
    // Puts the member to sleep the variant's way, and waits for the proxy to see it.
    const sleep = async (): Promise<void> => {
      if (paused) await container.pause();
      else await container.stop({ t: 5 });
      await waitIdle(proxy as Spawned);
    };
    if (paused) {
      await container.start();
      await firstByteWithRetry(upstream);
      await sleep();
    }
    for (let round = 0; round < rounds; round++) {
      // Floor: docker start (or unpause), (health,) then connect until the server answers.
      let started = performance.now();
      if (paused) await container.unpause();
      else await container.start();
      if (health) await waitHealthy(container);
      await firstByteWithRetry(upstream);
      floor.push(performance.now() - started);
      await sleep();

      // Through proxytainer: one connect to the sleeping group.
      const wallStart = Date.now();
      started = performance.now();
      const answer = await firstByte(port);
      viaProxy.push(performance.now() - started);
      if (!answer.text.startsWith('hello ')) throw new Error(`unexpected first bytes through the proxy: ${JSON.stringify(answer.text.slice(0, 80))}`);
      if (honoured !== null) {
        const healthy = await healthyAt(container, wallStart - 1);
        // The greeting is written when the upstream accepts, so it can only come after the proxy saw healthy.
        honoured = { ok: honoured.ok + (healthy !== null && answer.at + 1 >= healthy ? 1 : 0), of: honoured.of + 1 };
      }
      await sleep();
    }
  } finally {
    await proxy?.stop();
    await container.remove({ force: true }).catch(() => undefined);
  }
  return { variant: VARIANT_NAMES[variant], floor, viaProxy, honoured };
}

export async function measureColdWakes(rounds: number): Promise<SectionResult> {
  const result = emptySection();
  for (const variant of ['stop', 'health', 'pause'] as const) {
    try {
      const r = await measureColdWake(rounds, variant);
      const floor = median(r.floor);
      const pt = median(r.viaProxy);
      const overhead = pt - floor;
      progress('cold wake', `${r.variant}: floor ${samples(r.floor)} ms; proxytainer ${samples(r.viaProxy)} ms`);
      const honouredOk = r.honoured === null || r.honoured.ok === r.honoured.of;
      const detail = [`${overhead >= 0 ? '+' : ''}${fixed(overhead)} ms`, ...(r.honoured === null ? [] : [`health honoured ${r.honoured.ok}/${r.honoured.of}`])].join('; ');
      result.rows.push({
        measure: `cold wake, ${r.variant}: connect → first byte (ms; direct = docker ${variant === 'pause' ? 'unpause' : 'start'} + first connect)`,
        values: { direct: fixed(floor), proxytainer: fixed(pt) },
        ratio: ratio(pt, floor),
        target: `≤ floor + ${COLD_WAKE_TARGET_MS} ms${r.honoured === null ? '' : ', after healthy'}`,
        met: verdict(overhead <= COLD_WAKE_TARGET_MS && honouredOk, detail),
      });
    } catch (error) {
      result.problems.push(`cold wake (${VARIANT_NAMES[variant]}): ${errorText(error)}`);
    }
  }
  result.notes.push(`cold wake: median of ${rounds} rounds, each a floor run then a proxied run, the member stopped (or paused) before each.`);
  return result;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 15;
  try {
    for (const variant of ['stop', 'health', 'pause'] as const) {
      const r = await measureColdWake(rounds, variant);
      const [floor, pt] = [median(r.floor), median(r.viaProxy)];
      console.log(
        `${r.variant.padEnd(24)} floor (docker ${variant === 'pause' ? 'unpause' : 'start'} + first connect) ${fixed(floor)} ms   proxytainer ${fixed(pt)} ms   overhead ${fixed(pt - floor)} ms` +
          `${r.honoured === null ? '' : `   health honoured ${r.honoured.ok}/${r.honoured.of}`}   (median of ${rounds})`,
      );
    }
  } finally {
    await stopAll();
    await removeTestObjects();
  }
}
