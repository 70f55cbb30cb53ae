import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { startObservability } from '../../src/cli/observability.js';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import { WakeHistory } from '../../src/core/wake-history.js';
import { countingBackend } from '../../src/metrics/counting-backend.js';
import { ProxyMetrics } from '../../src/metrics/proxy-metrics.js';
import { FakeRuntime, type FakeMemberOptions, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { formatProblems, get, promtoolCheck, sample } from '../support/metrics-text.js';
import { echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { eventually } from '../support/wait.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A proxy on loopback sockets with metrics on, composed as `run --metrics` composes it. */
async function setup(member: FakeMemberOptions = {}) {
  const runtime = new FakeRuntime();
  const upstreamPort = await freePort();
  runtime.add('g', 'web', { servesPort: upstreamPort, ...member });
  const logger = new MemoryLogger();
  const metrics = new ProxyMetrics('9.9.9');
  const backend = countingBackend(runtime, (operation) => {
    metrics.countDockerRequest(operation);
  });
  const proxy = new Proxy({ runtime: backend, clock: systemClock, logger, maxHeld: 100 });
  const history = new WakeHistory(proxy, { clock: systemClock, logger });
  const metricsPort = await freePort();
  const stop = await startObservability({
    proxy,
    history,
    metrics,
    metricsAddress: { host: '127.0.0.1', port: metricsPort },
    webhooks: [],
    webhookFor: () => undefined,
    pid: process.pid,
    version: '9.9.9',
    clock: systemClock,
    logger,
  });
  const group = proxy.group('g', SETTINGS);
  const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: upstreamPort }) }, group);
  await group.settled();
  cleanups.push(async () => {
    await proxy.shutdown(0);
    await stop();
    history.close();
    await runtime.close();
  });
  const base = `http://127.0.0.1:${metricsPort}`;
  return { runtime, proxy, group, history, port: listener.port, base, scrape: async () => (await get(`${base}/metrics`)).body, logger };
}

/** The scrape passes promtool's check (when installed; under CI it must be), and the format's grammar always. */
function assertWellFormed(t: TestContext, text: string): void {
  assert.deepEqual(formatProblems(text), []);
  const checked = promtoolCheck(text);
  if (checked === null) {
    if ((process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false') assert.fail('promtool is not installed; scripts/promtool.sh (run by scripts/engine.sh) installs it');
    t.diagnostic('promtool is not installed (bash scripts/promtool.sh); checked against the format grammar only');
    return;
  }
  assert.deepEqual(checked, { status: 0, output: '' }, 'promtool check metrics reports nothing');
}

describe('metrics on loopback sockets', () => {
  it('after a cold wake and traffic: one ready wake with its duration, the connection, the bytes both ways, the state; promtool finds nothing', async (t) => {
    const { runtime, group, port, scrape } = await setup();
    const idle = await scrape();
    assert.equal(sample(idle, 'proxytainer_group_state{group="g",state="Idle"}'), 1);
    assert.equal(sample(idle, 'proxytainer_wakes_total{group="g",result="ready"}'), 0, 'every group has its wake counters from the start');
    assert.equal(sample(idle, 'proxytainer_wake_duration_seconds_count{group="g"}'), 0);

    const starting = gate();
    runtime.startGate = starting.promise;
    const socket = await openSocket(port);
    const answer = readAll(socket);
    socket.end(Buffer.alloc(1000, 1));
    await eventually(() => group.state === 'Starting', 5000, 'the wake');
    await eventually(async () => sample(await scrape(), 'proxytainer_connections{group="g",phase="held"}') === 1, 5000, 'the held connection in the metrics');
    const waking = await scrape();
    assert.equal(sample(waking, 'proxytainer_group_state{group="g",state="Starting"}'), 1);
    assert.equal(sample(waking, 'proxytainer_connections{group="g",phase="open"}'), 0, 'a held connection is held, not open');
    starting.open();
    assert.equal((await answer).data.length, 1000);
    assert.equal((await echoThrough(port, Buffer.alloc(500, 2))).length, 500);

    const text = await scrape();
    assert.equal(sample(text, 'proxytainer_group_state{group="g",state="Running"}'), 1);
    assert.equal(sample(text, 'proxytainer_group_state{group="g",state="Idle"}'), 0);
    assert.equal(sample(text, 'proxytainer_wakes_total{group="g",result="ready"}'), 1, 'one wake, however many connections');
    assert.equal(sample(text, 'proxytainer_wakes_total{group="g",result="failed"}'), 0);
    assert.equal(sample(text, 'proxytainer_wake_duration_seconds_count{group="g"}'), 1);
    assert.ok((sample(text, 'proxytainer_wake_duration_seconds_sum{group="g"}') ?? 0) > 0);
    assert.equal(sample(text, 'proxytainer_wake_duration_seconds_bucket{le="300",group="g"}'), 1);
    assert.equal(sample(text, 'proxytainer_connections_total{group="g"}'), 2);
    assert.equal(sample(text, 'proxytainer_bytes_total{group="g",direction="in"}'), 1500);
    assert.equal(sample(text, 'proxytainer_bytes_total{group="g",direction="out"}'), 1500);
    assert.equal(sample(text, 'proxytainer_docker_requests_total{operation="wake"}'), 1);
    assert.ok((sample(text, 'proxytainer_docker_requests_total{operation="members"}') ?? 0) >= 2);
    assert.equal(sample(text, 'proxytainer_build_info{version="9.9.9"}'), 1);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_open_fds']) assert.ok((sample(text, name) ?? 0) > 0, name);
    assertWellFormed(t, text);
  });

  it('after a failed wake: counted failed, no duration, and the health endpoint says 503 with the reason', async (t) => {
    const { port, group, base, scrape } = await setup({ startError: new Error('no such image: web:latest') });
    const socket = await openSocket(port);
    const { data } = await readAll(socket);
    assert.equal(data.length, 0, 'the held connection was closed');
    await group.settled();
    const text = await scrape();
    assert.equal(sample(text, 'proxytainer_wakes_total{group="g",result="failed"}'), 1);
    assert.equal(sample(text, 'proxytainer_wakes_total{group="g",result="ready"}'), 0);
    assert.equal(sample(text, 'proxytainer_wake_duration_seconds_count{group="g"}'), 0);
    assertWellFormed(t, text);
    const health = await get(`${base}/groups/g/health`);
    assert.equal(health.status, 503);
    const body = JSON.parse(health.body) as { healthy: boolean; reason: string; state: string };
    assert.deepEqual({ healthy: body.healthy, state: body.state }, { healthy: false, state: 'Idle' });
    assert.match(body.reason, /^the last wake failed \d+s ago: could not start web: no such image: web:latest$/);
  });

  it('health in each state: asleep, waking, running and stopping are 200; an unknown group 404; asking never wakes the group', async () => {
    const { runtime, group, port, base } = await setup();
    const health = async (name = 'g'): Promise<{ status: number; state?: string; reason?: string }> => {
      const { status, body } = await get(`${base}/groups/${name}/health`);
      return { status, ...(JSON.parse(body) as { state?: string; reason?: string }) };
    };
    for (let i = 0; i < 5; i++) assert.deepEqual(await health(), { status: 200, group: 'g', state: 'Idle', healthy: true, reason: 'asleep; the next connection wakes it' });
    assert.equal(runtime.count('start web'), 0, 'health probes never wake the group');
    assert.equal(group.state, 'Idle');

    const starting = gate();
    runtime.startGate = starting.promise;
    const socket = await openSocket(port);
    await eventually(() => group.state === 'Starting', 5000, 'the wake');
    assert.deepEqual(await health(), { status: 200, group: 'g', state: 'Starting', healthy: true, reason: 'waking' });
    starting.open();
    await eventually(() => group.state === 'Running', 5000, 'Running');
    assert.deepEqual(await health(), { status: 200, group: 'g', state: 'Running', healthy: true, reason: 'running' });
    socket.destroy();

    const stopping = gate();
    runtime.stopGate = stopping.promise;
    const slept = group.sleep('test');
    assert.equal(group.state, 'Stopping');
    assert.equal((await health()).status, 200);
    stopping.open();
    await slept;

    const unknown = await get(`${base}/groups/nope/health`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no group named nope in this proxy \(it manages g\)/);
    assert.equal((await get(`${base}/other`)).status, 404);
  });

  it('a start made outside proxytainer is no wake of ours: the state shows it, the wake counters do not', async () => {
    const { runtime, group, scrape } = await setup();
    runtime.set('web', { phase: 'running' });
    await eventually(() => group.state === 'Running', 5000, 'Running');
    const text = await scrape();
    assert.equal(sample(text, 'proxytainer_group_state{group="g",state="Running"}'), 1);
    assert.equal(sample(text, 'proxytainer_wakes_total{group="g",result="ready"}'), 0);
    assert.equal(sample(text, 'proxytainer_wake_duration_seconds_count{group="g"}'), 0);
  });

  it("the listener's wake reason names the client it came from (pins the wording the history reads)", async () => {
    const { group, history, port } = await setup();
    const socket = await openSocket(port);
    await eventually(() => group.state === 'Running', 5000, 'Running');
    const wake = history.snapshot(group).lastWake;
    assert.deepEqual(wake?.cause, { kind: 'connection', client: { address: '127.0.0.1', port: socket.localPort }, port });
    assert.equal(wake.description, `connection from 127.0.0.1:${socket.localPort} on port ${port}`);
    socket.destroy();
  });
});
