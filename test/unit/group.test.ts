import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { describe, it } from 'node:test';
import { Group, type GroupSettings, OPEN_WAKE_RULES, WakeError } from '../../src/core/group.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeRuntime, gate } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';

const SETTINGS: GroupSettings = { idleMs: 10_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 60_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };

function setup(settings: Partial<GroupSettings> = {}): { group: Group; runtime: FakeRuntime; clock: FakeClock; logger: MemoryLogger } {
  const runtime = new FakeRuntime();
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const group = new Group('g', { ...SETTINGS, ...settings }, { runtime, clock, logger });
  return { group, runtime, clock, logger };
}

/** Records how a promise settled without awaiting it; `now()` tells so far. */
function outcome(promise: Promise<void>): { now: () => 'pending' | 'resolved' | Error } {
  let value: 'pending' | 'resolved' | Error = 'pending';
  promise.then(
    () => (value = 'resolved'),
    (error: unknown) => (value = error as Error),
  );
  return { now: () => value };
}

function assertWakeError(value: unknown, pattern: RegExp): void {
  assert.ok(value instanceof WakeError, `expected a WakeError, got ${String(value)}`);
  assert.match(value.message, pattern);
}

async function wakeToRunning(group: Group, clock: FakeClock): Promise<void> {
  const ready = group.hold('test').promise;
  await clock.advance(0);
  await ready;
  assert.equal(group.state, 'Running');
}

describe('Group', () => {
  it('100 connections to a sleeping group cause exactly one start per member', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web');
    runtime.add('g', 'db');
    group.watch();
    await clock.advance(0);
    const acquired = Array.from({ length: 100 }, () => group.hold('connection').promise);
    await clock.advance(0);
    await Promise.all(acquired);
    assert.equal(runtime.count('start web'), 1);
    assert.equal(runtime.count('start db'), 1);
    assert.equal(group.state, 'Running');
  });

  it('holds connections until the healthcheck passes', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(3000);
    assert.equal(held.now(), 'pending');
    assert.equal(group.state, 'Starting');
    runtime.set('web', { health: 'healthy' });
    await settle();
    assert.equal(held.now(), 'resolved');
    assert.equal(group.state, 'Running');
  });

  it('with health off, running is enough', async () => {
    const { group, runtime, clock } = setup({ health: false });
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    group.watch();
    await wakeToRunning(group, clock);
  });

  it('stops exactly at the idle deadline: nothing at T-1ms, the stop at T', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web');
    group.watch();
    await wakeToRunning(group, clock);
    await clock.advance(9_999);
    assert.equal(group.state, 'Running');
    assert.equal(runtime.count('stop web'), 0);
    await clock.advance(1);
    assert.equal(runtime.count('stop web'), 1);
    assert.equal(group.state, 'Idle');
    assert.equal(logger.matching(/\[g\] State change \(Running => Stopping\): no traffic for 10s/).length, 1);
    assert.equal(logger.matching(/\[g\] State change \(Stopping => Idle\)/).length, 1);
  });

  it('bytes in either direction push the idle deadline back', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web');
    group.watch();
    await wakeToRunning(group, clock);
    const tracker = group.track(() => undefined);
    tracker.established(() => undefined);
    await clock.advance(9_000);
    tracker.transferred('out', 10);
    await clock.advance(9_000);
    assert.equal(group.state, 'Running');
    await clock.advance(1_000);
    assert.equal(group.state, 'Idle');
  });

  it('a connection accepted just before the deadline is not cut by the stop', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web');
    group.watch();
    await wakeToRunning(group, clock);
    await clock.advance(9_999);
    const tracker = group.track(() => undefined); // accepted at T-1ms; its upstream connect takes longer than the idle period
    let cut = false;
    await clock.advance(15_000);
    assert.equal(group.state, 'Running', 'no stop while a connection is being connected');
    tracker.established(() => (cut = true));
    await clock.advance(9_999);
    assert.equal(group.state, 'Running');
    assert.equal(cut, false);
  });

  it('open but silent connections do not keep the group awake, unless asked', async () => {
    for (const connectionsKeepAwake of [false, true]) {
      const { group, runtime, clock } = setup({ connectionsKeepAwake });
      runtime.add('g', 'web');
      group.watch();
      await wakeToRunning(group, clock);
      let cut = false;
      group.track(() => undefined).established(() => (cut = true));
      await clock.advance(60_000);
      assert.equal(group.state, connectionsKeepAwake ? 'Running' : 'Idle');
      assert.equal(cut, !connectionsKeepAwake, 'connections left open when the group stops are closed');
    }
  });

  it('a connection that arrives while Stopping waits for the stop, then wakes the group again', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web');
    group.watch();
    await wakeToRunning(group, clock);
    const stop = gate();
    runtime.stopGate = stop.promise;
    await clock.advance(10_000);
    assert.equal(group.state, 'Stopping');
    const held = outcome(group.hold('late connection').promise);
    await settle();
    assert.equal(held.now(), 'pending');
    stop.open();
    await clock.advance(0);
    assert.equal(held.now(), 'resolved');
    assert.equal(group.state, 'Running');
    assert.equal(runtime.count('start web'), 2);
    assert.ok(logger.matching(/State change \(Stopping => Idle\)/).length === 1);
    assert.ok(logger.matching(/State change \(Idle => Starting\): 1 connection\(s\) waited for the stop/).length === 1);
  });

  it('a member that exits during start closes held connections at once, rolls back, and the next connection tries again', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    runtime.add('g', 'db', { healthOnStart: 'starting' });
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(100);
    runtime.set('web', { phase: 'stopped', exitCode: 3, health: 'none' });
    await settle();
    assertWakeError(held.now(), /web exited \(exit code 3\)/);
    await clock.advance(0);
    assert.equal(group.state, 'Idle');
    assert.equal(runtime.count('stop db'), 1, 'the member that did start is stopped again');
    assert.equal(logger.matching(/error \[g\] wake failed: web exited \(exit code 3\)/).length, 1);
    const again = group.hold('retry').promise;
    await clock.advance(0);
    runtime.set('web', { health: 'healthy' });
    runtime.set('db', { health: 'healthy' });
    await settle();
    await again;
    assert.equal(group.state, 'Running');
  });

  it('a member that crashes right after starting fails the wake: connections still connecting are closed, not woken again', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web');
    group.watch();
    let aborted = 0;
    const tracker = group.track(() => aborted++);
    await group.hold('connection').promise; // the group runs; the connection now connects to the upstream
    assert.equal(group.state, 'Running');
    await clock.advance(500);
    runtime.set('web', { phase: 'stopped', exitCode: 3 }); // `sleep 0.5; exit 3`
    await settle();
    assert.equal(aborted, 1, 'the connecting connection was closed');
    assert.equal(group.state, 'Idle');
    assert.equal(logger.matching(/error \[g\] wake failed: web exited \(exit code 3\) \(closing 1 connecting connection\(s\)\)/).length, 1);
    tracker.closed();
    await clock.advance(10_000);
    assert.equal(runtime.count('start web'), 1, 'nothing woke the group again');
  });

  it('a member that goes down after a connection got through was changed outside; the wake had succeeded', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web');
    group.watch();
    const tracker = group.track(() => assert.fail('an open connection is cut, not aborted'));
    await group.hold('connection').promise;
    let cut = false;
    tracker.established(() => (cut = true));
    runtime.set('web', { phase: 'stopped', exitCode: 137 });
    await settle();
    assert.equal(group.state, 'Idle');
    assert.equal(cut, true);
    assert.equal(logger.matching(/wake failed/).length, 0);
    assert.equal(logger.matching(/State change \(Running => Idle\): web exited \(exit code 137\) \(changed outside proxytainer\)/).length, 1);
    await clock.advance(0);
  });

  it('a start Docker refuses closes held connections with its reason', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web', { startError: new Error('Docker refused (HTTP 500): executable file not found') });
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(0);
    assertWakeError(held.now(), /could not start web: Docker refused \(HTTP 500\): executable file not found/);
    assert.equal(group.state, 'Idle');
  });

  it('a member that never turns healthy is given up at the start timeout', async () => {
    const { group, runtime, clock } = setup({ startTimeoutMs: 5_000 });
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(4_999);
    assert.equal(held.now(), 'pending');
    await clock.advance(1);
    assertWakeError(held.now(), /not ready after 5s: web is not healthy yet/);
    await clock.advance(0);
    assert.equal(runtime.count('stop web'), 1);
    assert.equal(group.state, 'Idle');
  });

  it('a group without members closes its connections at once and stays usable', async () => {
    const { group, runtime, clock } = setup();
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(0);
    assertWakeError(held.now(), /no members yet: no fake members of g exist yet/);
    assert.equal(group.state, 'Idle');
    runtime.add('g', 'web');
    await wakeToRunning(group, clock);
  });

  it('follows starts and stops made outside: Running when started by hand, Idle when stopped', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web');
    group.watch();
    await clock.advance(0);
    assert.equal(group.state, 'Idle');
    runtime.set('web', { phase: 'running' });
    await settle();
    assert.equal(group.state, 'Running');
    await clock.advance(9_999);
    assert.equal(group.state, 'Running');
    runtime.set('web', { phase: 'stopped', exitCode: 137 });
    await settle();
    assert.equal(group.state, 'Idle');
    assert.equal(runtime.count('start web'), 0);
  });

  it('a group already running at startup is Running and its idle clock runs', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web', { phase: 'running' });
    group.watch();
    await clock.advance(0);
    assert.equal(group.state, 'Running');
    await clock.advance(10_000);
    assert.equal(group.state, 'Idle');
  });

  it('keeps its state when the runtime cannot be read, and catches up on the next change', async () => {
    const { group, runtime, clock, logger } = setup();
    runtime.add('g', 'web', { phase: 'running' });
    runtime.listError = new Error('cannot reach Docker');
    group.watch();
    await clock.advance(0);
    assert.equal(group.state, 'Idle');
    assert.equal(logger.matching(/warn .*cannot read the group's members/).length, 1);
    runtime.listError = null;
    runtime.emit({ group: null, reason: 'reconnected' });
    await settle();
    assert.equal(group.state, 'Running');
  });

  it('sleep stops a Running group now and resolves once Idle', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web');
    group.watch();
    await wakeToRunning(group, clock);
    await group.sleep('operator asked');
    assert.equal(group.state, 'Idle');
    assert.equal(runtime.count('stop web'), 1);
  });

  it('close lets held connections go and ignores what Docker says afterwards', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    group.watch();
    const held = outcome(group.hold('connection').promise);
    await clock.advance(0);
    await group.close();
    await settle();
    assertWakeError(held.now(), /shutting down/);
    assert.equal(clock.timers, 0);
  });

  it('a cancelled hold leaves the wake going', async () => {
    const { group, runtime, clock } = setup();
    runtime.add('g', 'web', { healthOnStart: 'starting' });
    group.watch();
    const hold = group.hold('connection');
    const held = outcome(hold.promise);
    await clock.advance(0);
    hold.cancel(new Error('client left'));
    await settle();
    assert.ok(held.now() instanceof Error);
    assert.equal(group.snapshot().held, 0);
    assert.equal(group.state, 'Starting');
  });
});
