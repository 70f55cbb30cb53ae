/**
 * Cold wake of a Swarm service (0 → 1): connect → first byte through
 * proxytainer, next to scaling without it, alternately, the service back at
 * 0 with its task gone before each run:
 * - `docker service scale NAME=1` by itself: the CLI returns once the service
 *   has converged, which includes its own check that the task stays up;
 * - the floor: the scale as one API call, the tasks read every 10 ms until
 *   one runs, then connects until the server answers.
 * It also counts proxytainer's Docker API calls during each wake (the task
 * poll: the engine sends no events for task states) and while the service
 * sleeps (none expected). Needs swarm mode: inits a single-node swarm when
 * the engine is not in one, and leaves it afterwards if it made it.
 *
 * Part of `npm run bench` (section swarm); alone: node --import tsx bench/swarm-wake.ts [--rounds 10]
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, removeTestObjects, ROOT, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { createService, freePorts, joinTestSwarm, leaveTestSwarm, removeTestServices } from '../test/support/swarm-harness.js';
import { PROXYTAINER_BIN, startProxytainer } from './contenders.js';
import { firstByte, firstByteWithRetry } from './cold-wake.js';
import { CountingDockerRelay } from './docker-counter.js';
import { runToEnd, sleep, type Spawned, stopAll } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

/** What proxytainer may add to the floor: the same bound as a container's cold wake. */
export const SWARM_WAKE_TARGET_MS = 30;

interface Task {
  readonly DesiredState: string;
  readonly Status: { readonly State: string };
}

const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

function tasksOf(name: string): Promise<Task[]> {
  return docker.listTasks({ filters: { service: [name] } }) as Promise<Task[]>;
}

async function scaleByApi(name: string, replicas: number): Promise<void> {
  const service = (await docker.getService(name).inspect()) as { Version: { Index: number }; Spec: { Mode: object } };
  const spec = { ...service.Spec, Mode: { Replicated: { Replicas: replicas } } };
  await docker.getService(name).update({ _query: { version: service.Version.Index }, _body: spec });
}

/** Waits until the service's tasks have all ended (after a scale to 0). */
async function waitAsleep(name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await tasksOf(name)).some((task) => !ENDED.has(task.Status.State))) {
    if (Date.now() > deadline) throw new Error(`service ${name} still has tasks 60 s after a scale to 0`);
    await sleep(20);
  }
}

/** A Docker API request line reduced to its kind: `GET /tasks`, `POST /services/<id>/update`. */
function kindOf(line: string): string {
  const [method = '', target = ''] = line.split(' ');
  const path = target.replace(/\?.*$/, '').replace(/^\/v\d+\.\d+/, '').replace(/^(\/(?:services|networks|images|containers))\/(?!json$)[^/]+/, '$1/<id>');
  return `${method} ${path}`;
}

export interface SwarmWakeResult {
  readonly cli: number[];
  readonly floor: number[];
  readonly viaProxy: number[];
  /** Docker API calls made by the proxy from the connect to the first byte, per round. */
  readonly callsPerWake: number[];
  readonly callKinds: Map<string, number>;
  /** Calls over the asleep window, and its length. */
  readonly asleep: { calls: number; seconds: number };
}

export async function measureSwarmWake(rounds: number, asleepSeconds: number): Promise<SwarmWakeResult> {
  const group = uniqueName('bench-swarm');
  const [port, upstream] = [await freePort(), await freePorts()];
  const { name } = await createService({ group, port: upstream, server: ['--host', '127.0.0.1', '--greet'] });
  const relay = new CountingDockerRelay();
  await relay.open();
  const control = join(tmpdir(), `${uniqueName('bench-control')}.sock`);
  const result: SwarmWakeResult = { cli: [], floor: [], viaProxy: [], callsPerWake: [], callKinds: new Map(), asleep: { calls: 0, seconds: asleepSeconds } };
  let proxy: Spawned | null = null;
  try {
    proxy = await startProxytainer('proxytainer', ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1', '--control-socket', control], { DOCKER_HOST: relay.url });
    for (let round = 0; round < rounds; round++) {
      let started = performance.now();
      const cli = await runToEnd('docker service scale', 'docker', ['service', 'scale', `${name}=1`], 120_000);
      if (cli.code !== 0) throw new Error(`docker service scale failed: ${cli.stderr}`);
      result.cli.push(performance.now() - started);
      await scaleByApi(name, 0);
      await waitAsleep(name);

      started = performance.now();
      await scaleByApi(name, 1);
      while (!(await tasksOf(name)).some((task) => task.DesiredState === 'running' && task.Status.State === 'running')) await sleep(10);
      await firstByteWithRetry(upstream);
      result.floor.push(performance.now() - started);
      await scaleByApi(name, 0);
      await waitAsleep(name);

      started = performance.now();
      const answer = (await firstByte(port)).text;
      result.viaProxy.push(performance.now() - started);
      if (!answer.startsWith('hello ')) throw new Error(`unexpected first bytes through the proxy: ${JSON.stringify(answer.slice(0, 80))}`);
      const calls = relay.since(started).filter((request) => request.at <= started + (result.viaProxy.at(-1) ?? 0));
      result.callsPerWake.push(calls.length);
      for (const call of calls) result.callKinds.set(kindOf(call.line), (result.callKinds.get(kindOf(call.line)) ?? 0) + 1);
      const slept = await runToEnd('proxytainer sleep', PROXYTAINER_BIN, ['sleep', group, '--control-socket', control], 60_000, { cwd: ROOT });
      if (slept.code !== 0) throw new Error(`proxytainer sleep failed: ${slept.stderr}`);
      await waitAsleep(name);
    }
    await sleep(2_000); // the sleep's own events settle
    const quiet = performance.now();
    await sleep(asleepSeconds * 1000);
    result.asleep.calls = relay.since(quiet).length;
  } finally {
    await proxy?.stop();
    await relay.close();
    await docker.getService(name).remove().catch(() => undefined);
  }
  return result;
}

export async function measureSwarmWakes(rounds: number, asleepSeconds: number): Promise<SectionResult> {
  const section = emptySection();
  try {
    await joinTestSwarm();
    const r = await measureSwarmWake(rounds, asleepSeconds);
    const [cli, floor, pt] = [median(r.cli), median(r.floor), median(r.viaProxy)];
    progress('swarm wake', `docker service scale ${samples(r.cli)} ms; floor ${samples(r.floor)} ms; proxytainer ${samples(r.viaProxy)} ms`);
    section.rows.push({
      measure: 'cold wake, Swarm service 0 → 1: connect → first byte (ms; direct = `docker service scale NAME=1` alone, until converged)',
      values: { direct: fixed(cli), proxytainer: fixed(pt) },
      ratio: ratio(pt, cli),
    });
    const overhead = pt - floor;
    section.rows.push({
      measure: 'cold wake, Swarm service 0 → 1 (ms; direct = one scale API call, tasks read every 10 ms, first connect)',
      values: { direct: fixed(floor), proxytainer: fixed(pt) },
      ratio: ratio(pt, floor),
      target: `≤ floor + ${SWARM_WAKE_TARGET_MS} ms`,
      met: verdict(overhead <= SWARM_WAKE_TARGET_MS, `${overhead >= 0 ? '+' : ''}${fixed(overhead)} ms`),
    });
    const kinds = [...r.callKinds].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${kind} ×${fixed(count / r.callsPerWake.length)}`);
    section.notes.push(
      `swarm wake: median of ${rounds} rounds each; proxytainer made ${fixed(median(r.callsPerWake), 0)} Docker API calls per wake (median; per wake: ${kinds.join(', ')}), ` +
        `and ${r.asleep.calls} in ${r.asleep.seconds} s while the service slept.`,
    );
  } catch (error) {
    section.problems.push(`swarm wake: ${errorText(error)}`);
  } finally {
    await removeTestServices().catch(() => undefined);
    await leaveTestSwarm().catch((error: unknown) => section.problems.push(`swarm wake: could not leave swarm mode: ${errorText(error)}`));
  }
  return section;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 10;
  try {
    const section = await measureSwarmWakes(rounds, 10);
    for (const row of section.rows) console.log(`${row.measure}: direct ${row.values.direct ?? '-'}, proxytainer ${row.values.proxytainer ?? '-'} (${row.ratio ?? ''}${row.met === undefined ? '' : `, ${row.met}`})`);
    for (const note of [...section.notes, ...section.problems]) console.log(note);
  } finally {
    await stopAll();
    await removeTestObjects();
  }
}
