/**
 * Idle cost: CPU time and Docker API calls of one proxy with 100 asleep
 * groups (discovery mode: stopped containers labelled with group, port and
 * upstream) over 60 s after it settled. Docker is reached through a counting
 * relay; the long-lived GET /events counts once, when it is made. It should
 * make no call at all in the window: events, not polling.
 *
 * Until discovery mode exists (`proxytainer run` without --port refuses), the
 * rows say so, and a static-mode proxy with one asleep group is measured
 * the same way instead.
 */
import { createMember, ROOT, RUN_ID, TEST_LABEL, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { PROXYTAINER_BIN, startProxytainer } from './contenders.js';
import { CountingDockerRelay, requestKind, type SeenRequest } from './docker-counter.js';
import { describeExit, sleep, Spawned } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed } from './stats.js';

export const IDLE_CPU_TARGET_PERCENT = 0.1;

export interface IdleOptions {
  readonly groups: number;
  readonly windowSeconds: number;
}

/** Ports no one listens on, all different. */
async function distinctPorts(count: number, taken: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (taken.has(port)) continue;
    taken.add(port);
    ports.push(port);
  }
  return ports;
}

type Discovery = { available: true } | { available: false; why: string } | { broken: string };

/** Whether `proxytainer run` without --port/--host runs (discovery mode) or refuses (not there yet). */
async function probeDiscovery(relay: CountingDockerRelay): Promise<Discovery> {
  // Scoped to a group no container has, so the probe touches nothing.
  const probe = new Spawned('proxytainer run (probe)', PROXYTAINER_BIN, ['run', '--group', uniqueName('bench-probe')], {
    cwd: ROOT,
    env: { DOCKER_HOST: relay.url, PROXYTAINER_LOG: 'info', NO_COLOR: '1' },
  });
  const outcome = await Promise.race([probe.exited, sleep(4_000).then(() => null)]);
  await probe.stop();
  if (outcome === null) return { available: true };
  if (outcome.code === 2) return { available: false, why: probe.output.split('\n')[0] ?? '' };
  return { broken: `proxytainer run (discovery mode) exited (${describeExit(outcome)}): ${probe.tail()}` };
}

/** Waits until no request has passed the relay for `quietMs` (at most `maxMs`). */
async function settle(relay: CountingDockerRelay, quietMs: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const last = relay.requests.at(-1)?.at ?? 0;
    if (performance.now() - last >= quietMs) return;
    await sleep(100);
  }
}

function summarize(requests: readonly SeenRequest[]): string {
  const kinds = new Map<string, number>();
  for (const r of requests) kinds.set(requestKind(r.line), (kinds.get(requestKind(r.line)) ?? 0) + 1);
  return [...kinds].map(([kind, n]) => `${n}× ${kind}`).join(', ');
}

/** Measures `proxy` for the window; it must have settled. */
async function window(proxy: Spawned, relay: CountingDockerRelay, seconds: number): Promise<{ calls: SeenRequest[]; cpuPercent: number }> {
  const from = performance.now();
  const cpu0 = proxy.cpuSeconds();
  await sleep(seconds * 1000);
  if (!proxy.alive) throw new Error(`the proxy exited during the window:\n${proxy.tail()}`);
  const cpu1 = proxy.cpuSeconds();
  const elapsed = (performance.now() - from) / 1000;
  return { calls: relay.since(from), cpuPercent: (100 * (cpu1 - cpu0)) / elapsed };
}

/** How long after start-up settles before the idle window opens. */
const WARMUP_SECONDS = 30;

function rows(result: SectionResult, label: string, measured: { calls: SeenRequest[]; cpuPercent: number } | string, seconds: number, judged = true): void {
  const text = typeof measured === 'string' ? measured : null;
  result.rows.push(
    {
      measure: `idle: ${label}, ${seconds} s: Docker API calls`,
      values: { proxytainer: text ?? String(typeof measured === 'string' ? '' : measured.calls.length) },
      target: '0',
      met: typeof measured === 'string' ? verdict(null) : verdict(measured.calls.length === 0, measured.calls.length === 0 ? '' : summarize(measured.calls)),
    },
    {
      measure: `idle: ${label}, ${seconds} s: CPU (% of one core)`,
      values: { proxytainer: text ?? fixed(typeof measured === 'string' ? NaN : measured.cpuPercent, 3) },
      target: judged ? `< ${IDLE_CPU_TARGET_PERCENT}%` : '-',
      met: typeof measured === 'string' || !judged ? verdict(null) : verdict(measured.cpuPercent < IDLE_CPU_TARGET_PERCENT),
    },
  );
}

async function discoveryIdle(result: SectionResult, relay: CountingDockerRelay, options: IdleOptions): Promise<void> {
  const taken = new Set<number>();
  const listen = await distinctPorts(options.groups, taken);
  const upstream = await distinctPorts(options.groups, taken);
  progress('idle', `creating ${options.groups} stopped, labelled containers`);
  for (let i = 0; i < options.groups; i += 10) {
    await Promise.all(
      listen.slice(i, i + 10).map((port, j) =>
        createMember({
          group: `bench-idle-${RUN_ID}-${i + j}`,
          server: ['--port', String(upstream[i + j]), '--host', '127.0.0.1'],
          labels: { 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream[i + j] ?? 0}` },
        }),
      ),
    );
  }
  const proxy = await startProxytainer('proxytainer run', ['run'], { DOCKER_HOST: relay.url });
  try {
    // Settled: a listener for each group (or 30 s), then no Docker call for 3 s.
    const mine = new Set(listen.map(String));
    const listening = (): number => proxy.matching(/listening on /).filter((line) => [...line.matchAll(/\d+/g)].some((m) => mine.has(m[0]))).length;
    const deadline = Date.now() + 30_000;
    while (listening() < options.groups && Date.now() < deadline) {
      if (!proxy.alive) throw new Error(`proxytainer run exited:\n${proxy.tail()}`);
      await sleep(100);
    }
    const listeners = listening();
    if (listeners < options.groups) result.notes.push(`idle: only ${listeners} of the ${options.groups} groups' ports were logged as listening within 30 s.`);
    await settle(relay, 3_000, 20_000);
    const startup = relay.requests.length;
    progress('idle', `settled after ${startup} Docker API calls (${summarize(relay.requests)}); measuring ${WARMUP_SECONDS} s after start-up, then ${options.windowSeconds} s`);
    // The first seconds after start-up pay once for V8's clean-up of the start-up work (GC, compilation); shown apart.
    const afterStartup = await window(proxy, relay, WARMUP_SECONDS);
    rows(result, `${options.groups} asleep groups (discovery mode), the ${WARMUP_SECONDS} s after start-up`, afterStartup, WARMUP_SECONDS, false);
    const measured = await window(proxy, relay, options.windowSeconds);
    progress('idle', `${measured.calls.length} calls, CPU ${fixed(measured.cpuPercent, 3)}% of one core (after start-up: ${afterStartup.calls.length} calls, ${fixed(afterStartup.cpuPercent, 3)}%)`);
    rows(result, `${options.groups} asleep groups (discovery mode)`, measured, options.windowSeconds);
    result.notes.push(
      `idle: the proxy reaches Docker through a counting relay that adds the label ${TEST_LABEL}=${RUN_ID} to its container listings and event filters, so it sees only this run's ${options.groups} containers; the ${startup} call(s) made while settling are not counted.` +
        (measured.calls.length > 0 ? ` Calls in the window: ${summarize(measured.calls)}.` : ''),
    );
  } finally {
    await proxy.stop();
  }
}

async function staticIdle(result: SectionResult, relay: CountingDockerRelay, options: IdleOptions): Promise<void> {
  const group = uniqueName('bench-idle-static');
  const [port, upstream] = [await freePort(), await freePort()];
  await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
  const proxy = await startProxytainer('proxytainer', ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1'], {
    DOCKER_HOST: relay.url,
  });
  try {
    await settle(relay, 3_000, 20_000);
    const startup = relay.requests.length;
    progress('idle', `static mode settled after ${startup} Docker API calls (${summarize(relay.requests)}); measuring ${options.windowSeconds} s`);
    const measured = await window(proxy, relay, options.windowSeconds);
    progress('idle', `static mode: ${measured.calls.length} calls, CPU ${fixed(measured.cpuPercent, 3)}% of one core`);
    rows(result, '1 asleep group (static mode, in its place)', measured, options.windowSeconds);
  } finally {
    await proxy.stop();
  }
}

export async function measureIdleCost(options: IdleOptions): Promise<SectionResult> {
  const result = emptySection();
  // Scoped to this run's containers: other runs' labelled containers (and their ports) stay theirs.
  const relay = new CountingDockerRelay({ scopeLabel: `${TEST_LABEL}=${RUN_ID}` });
  try {
    await relay.open();
    const discovery = await probeDiscovery(relay);
    relay.requests.length = 0;
    if ('broken' in discovery) {
      result.problems.push(`idle: ${discovery.broken}`);
      rows(result, `${options.groups} asleep groups (discovery mode)`, 'failed', options.windowSeconds);
    } else if (discovery.available) {
      await discoveryIdle(result, relay, options);
    } else {
      progress('idle', `discovery mode is not available (${discovery.why}); measuring one static-mode group instead`);
      rows(result, `${options.groups} asleep groups (discovery mode)`, 'n/a (discovery mode not available)', options.windowSeconds);
      await staticIdle(result, relay, options);
    }
  } catch (error) {
    result.problems.push(`idle: ${errorText(error)}`);
  } finally {
    await relay.close();
  }
  return result;
}
