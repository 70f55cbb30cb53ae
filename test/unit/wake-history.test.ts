import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { describe, it } from 'node:test';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { judgeHealth } from '../../src/core/group-health.js';
import { Proxy } from '../../src/core/proxy.js';
import { WAKE_COMMAND_REASON, wakeCauseOf } from '../../src/core/wake-cause.js';
import { type StateChange, WakeHistory } from '../../src/core/wake-history.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeRuntime, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';

const SETTINGS: GroupSettings = { idleMs: 10_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 60_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const CLIENT = 'connection from 203.0.113.7:51234 on port 443';

function setup(): { proxy: Proxy; runtime: FakeRuntime; clock: FakeClock; logger: MemoryLogger; history: WakeHistory; changes: StateChange[] } {
  const runtime = new FakeRuntime();
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime, clock, logger, maxHeld: 100 });
  const history = new WakeHistory(proxy, { clock, logger });
  const changes: StateChange[] = [];
  history.onChange((change) => changes.push(change));
  return { proxy, runtime, clock, logger, history, changes };
}

describe('wake cause', () => {
  it("reads the listener's reason: client address and port, and the listener's port", () => {
    assert.deepEqual(wakeCauseOf(CLIENT), { kind: 'connection', client: { address: '203.0.113.7', port: 51234 }, port: 443 });
    assert.deepEqual(wakeCauseOf('connection from [2001:db8::1]:40000 on port 8080'), { kind: 'connection', client: { address: '2001:db8::1', port: 40000 }, port: 8080 });
    assert.deepEqual(wakeCauseOf('connection from a closed socket on port 8080'), { kind: 'connection', client: null, port: 8080 });
  });

  it('tells the wake command, a start made outside, and anything else apart', () => {
    assert.deepEqual(wakeCauseOf(WAKE_COMMAND_REASON), { kind: 'operator', via: 'CLI' });
    assert.deepEqual(wakeCauseOf('wake requested (proxytainer wake --no-wait)'), { kind: 'operator', via: 'CLI' });
    assert.deepEqual(wakeCauseOf('every member is running (started outside proxytainer)'), { kind: 'outside' });
    assert.deepEqual(wakeCauseOf('2 connection(s) waited for the stop'), { kind: 'other' });
  });
});

describe('WakeHistory', () => {
  it('a wake by a connection: who, how long (start to ready), the result, and a log line that says both', async () => {
    const { proxy, runtime, clock, logger, history } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    const starting = gate();
    runtime.startGate = starting.promise;
    const held = group.hold(CLIENT).promise;
    await clock.advance(1500);
    const during = history.snapshot(group).lastWake;
    assert.equal(during?.result, 'starting');
    assert.equal(during.durationMs, null);
    starting.open();
    await held;
    const wake = history.snapshot(group).lastWake;
    assert.equal(wake?.result, 'ready');
    assert.equal(wake.durationMs, 1500);
    assert.equal(wake.description, CLIENT);
    assert.deepEqual(wake.cause, { kind: 'connection', client: { address: '203.0.113.7', port: 51234 }, port: 443 });
    assert.deepEqual(logger.matching(/woke in/), [`info [g] woke in 1.5s (woken by ${CLIENT})`]);
  });

  it("the wake command reads as 'wake command'", async () => {
    const { proxy, runtime, clock, history } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    const held = group.hold(WAKE_COMMAND_REASON).promise;
    await clock.advance(0);
    await held;
    assert.equal(history.snapshot(group).lastWake?.description, 'wake command');
    assert.deepEqual(history.snapshot(group).lastWake?.cause, { kind: 'operator', via: 'CLI' });
  });

  it('a start made outside proxytainer is a wake it only saw done: no duration, result ready', async () => {
    const { proxy, runtime, clock, history, changes } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    await clock.advance(700);
    runtime.set('web', { phase: 'running' });
    await settle();
    assert.equal(group.state, 'Running');
    const wake = history.snapshot(group).lastWake;
    assert.equal(wake?.cause.kind, 'outside');
    assert.equal(wake.result, 'ready');
    assert.equal(wake.durationMs, null);
    assert.match(wake.description, /^start made outside proxytainer/);
    assert.equal(changes.at(-1)?.wake?.timed, false);
  });

  it('a failed wake: the reason without its prefix, unhealthy until a wake succeeds, also while the next one starts', async () => {
    const { proxy, runtime, clock, history } = setup();
    runtime.add('g', 'web', { startError: new Error('no such image') });
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    await assert.rejects(group.hold(CLIENT).promise, /wake failed/);
    await group.settled();
    const failed = history.snapshot(group);
    assert.equal(failed.lastWake?.result, 'failed');
    assert.match(failed.lastWake.error ?? '', /^could not start web: no such image/);
    assert.equal(failed.health.healthy, false);
    assert.match(failed.health.reason, /^the last wake failed \d+s ago: could not start web/);

    const starting = gate();
    runtime.startGate = starting.promise;
    const again = group.hold(CLIENT).promise.catch(() => undefined);
    await clock.advance(0);
    assert.equal(group.state, 'Starting');
    assert.equal(history.snapshot(group).health.healthy, false, 'a retry under way does not make a failed wake healthy');
    starting.open();
    await again;
  });

  it('a wake cancelled by a sleep is neither a success nor a failure for health', async () => {
    const { proxy, runtime, clock, history } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    const starting = gate();
    runtime.startGate = starting.promise;
    const held = group.hold(CLIENT).promise.catch(() => undefined);
    await clock.advance(0);
    const slept = group.sleep('sleep requested (proxytainer sleep)');
    starting.open();
    await held;
    await slept;
    const snapshot = history.snapshot(group);
    assert.equal(snapshot.lastWake?.result, 'cancelled');
    assert.equal(snapshot.lastWake.error, 'sleep requested (proxytainer sleep)');
    assert.equal(snapshot.health.healthy, true);
    assert.equal(snapshot.lastSleep?.reason, 'sleep requested (proxytainer sleep)');
  });

  it('an idle stop: when and why it slept, and the four changes of a wake and a stop in order, the wake on the first two', async () => {
    const { proxy, runtime, clock, history, changes } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    const held = group.hold(CLIENT).promise;
    await clock.advance(0);
    await held;
    await clock.advance(10_000);
    await group.settled();
    assert.equal(group.state, 'Idle');
    const sleep = history.snapshot(group).lastSleep;
    assert.deepEqual({ reason: sleep?.reason, outcome: sleep?.outcome, msAgo: sleep?.msAgo }, { reason: 'no traffic for 10s', outcome: 'every member stopped', msAgo: 0 });
    assert.deepEqual(
      changes.map((c) => `${c.from}>${c.to} ${c.wake?.result ?? '-'}`),
      ['Idle>Starting starting', 'Starting>Running ready', 'Running>Stopping -', 'Stopping>Idle -'],
    );
  });

  it('a member stopped outside: the sleep says so and had no stop of ours', async () => {
    const { proxy, runtime, clock, history } = setup();
    runtime.add('g', 'web', { phase: 'running' });
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    assert.equal(group.state, 'Running');
    runtime.set('web', { phase: 'stopped', exitCode: 137 });
    await settle();
    const sleep = history.snapshot(group).lastSleep;
    assert.match(sleep?.reason ?? '', /web exited \(exit code 137\) \(changed outside proxytainer\)/);
    assert.equal(sleep?.outcome, null);
  });

  it('a member that exits before any connection got through turns a ready wake into a failed one', async () => {
    const { proxy, runtime, clock, history, changes } = setup();
    runtime.add('g', 'web');
    const group = proxy.group('g', SETTINGS);
    await clock.advance(0);
    const held = group.hold(CLIENT).promise;
    await clock.advance(0);
    await held;
    runtime.set('web', { phase: 'stopped', exitCode: 1 });
    await settle();
    assert.equal(history.snapshot(group).lastWake?.result, 'failed');
    assert.deepEqual(changes.filter((c) => c.wake !== null).map((c) => c.wake?.result), ['starting', 'ready', 'failed']);
  });
});

describe('health', () => {
  it('asleep, waking, running and stopping are healthy; a failed wake or a backoff is not', () => {
    const failed = { result: 'failed', error: 'web exited (exit code 3)', msAgo: 120_000 } as const;
    assert.deepEqual(judgeHealth({ state: 'Idle', lastOutcome: null }), { healthy: true, reason: 'asleep; the next connection wakes it' });
    assert.equal(judgeHealth({ state: 'Starting', lastOutcome: null }).healthy, true);
    assert.equal(judgeHealth({ state: 'Stopping', lastOutcome: null }).healthy, true);
    assert.deepEqual(judgeHealth({ state: 'Running', lastOutcome: failed }), { healthy: true, reason: 'running' });
    assert.deepEqual(judgeHealth({ state: 'Idle', lastOutcome: failed }), { healthy: false, reason: 'the last wake failed 2m ago: web exited (exit code 3)' });
    assert.equal(judgeHealth({ state: 'Idle', lastOutcome: null, backingOffForMs: 4500 }).reason, 'backing off after failed wakes; the next wake may start in 5s');
  });
});
