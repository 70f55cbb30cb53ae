import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Group, type GroupSettings, OPEN_WAKE_RULES, type Peers, WakeError } from '../../src/core/group.js';
import { STOP } from '../../src/core/sleep-plan.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';

const SETTINGS: GroupSettings = { idleMs: 10_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 60_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };

function setup(settings: Partial<GroupSettings> = {}, peers?: Peers) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const logger = new MemoryLogger();
  const group = (name: string, own: Partial<GroupSettings> = {}): Group => {
    const created = new Group(name, { ...SETTINGS, ...settings, ...own }, { runtime, clock, logger, peers });
    created.watch();
    return created;
  };
  return { runtime, clock, logger, group };
}

/** The order of start calls the runtime saw. */
const starts = (runtime: FakeRuntime): string[] => runtime.calls.filter((c) => c.startsWith('start ')).map((c) => c.slice(6));

async function wakeToRunning(group: Group, clock: FakeClock, ms = 0): Promise<void> {
  const held = group.hold('test').promise;
  await clock.advance(ms);
  await held;
  assert.equal(group.state, 'Running');
}

describe('start order', () => {
  it('a member that depends on another being healthy starts only after it is, and the wake says what it waits for', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'db', { healthOnStart: 'starting' });
    runtime.add('g', 'app', { dependsOn: [{ name: 'db', condition: 'service_healthy' }] });
    const g = group('g');
    const waits: string[] = [];
    g.onTransition((t) => {
      if (t.from === t.to) waits.push(t.detail);
    });
    const held = g.hold('connection').promise;
    await clock.advance(2_000);
    assert.deepEqual(starts(runtime), ['db'], 'app waits');
    assert.deepEqual(waits, ['app is waiting for db to be healthy']);
    runtime.set('db', { health: 'healthy' });
    await clock.advance(0);
    assert.deepEqual(starts(runtime), ['db', 'app']);
    await held;
    assert.equal(g.state, 'Running');
  });

  it('a chain of three starts one after the other; members that wait on nothing start together', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'c', { dependsOn: [{ name: 'b', condition: 'service_started' }] });
    runtime.add('g', 'b', { dependsOn: [{ name: 'a', condition: 'service_started' }] });
    runtime.add('g', 'a');
    runtime.add('g', 'solo');
    const g = group('g');
    await wakeToRunning(g, clock);
    assert.deepEqual(starts(runtime), ['a', 'solo', 'b', 'c']);
    assert.deepEqual(g.snapshot().startOrder, [['a', 'solo'], ['b'], ['c']]);
  });

  it('stops in reverse order: dependents first', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'app', { dependsOn: [{ name: 'db', condition: 'service_started' }] });
    runtime.add('g', 'db');
    const g = group('g');
    await wakeToRunning(g, clock);
    await g.sleep('operator');
    assert.deepEqual(runtime.calls.filter((c) => c.startsWith('stop ')), ['stop app', 'stop db']);
  });

  it('a cycle is reported and the group still wakes, that edge ignored', async () => {
    const { runtime, clock, group, logger } = setup();
    runtime.add('g', 'a', { dependsOn: [{ name: 'b', condition: 'service_started' }] });
    runtime.add('g', 'b', { dependsOn: [{ name: 'a', condition: 'service_started' }] });
    const g = group('g');
    await wakeToRunning(g, clock);
    assert.deepEqual(g.snapshot().problems, [{ member: 'b', message: "dependencies form a cycle (a → b → a); b's dependency on a is ignored" }]);
    assert.equal(logger.matching(/warn \[g\] label problem: dependencies form a cycle/).length, 1, 'logged once');
    assert.deepEqual(starts(runtime), ['b', 'a'], 'a still waits for b');
  });

  it('a dependency that names nothing is reported and ignored', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'app', { dependsOn: [{ name: 'nosuch', condition: 'service_healthy' }] });
    const g = group('g');
    await wakeToRunning(g, clock);
    assert.deepEqual(g.snapshot().problems, [{ member: 'app', message: 'app depends on nosuch, which names no container or service; that dependency is ignored' }]);
  });

  it('a one-shot job runs first and must complete successfully; the group is ready with it exited 0', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'migrate', { runsFor: { ms: 3_000, exitCode: 0 } });
    runtime.add('g', 'app', { dependsOn: [{ name: 'migrate', condition: 'service_completed_successfully' }] });
    const g = group('g');
    const held = g.hold('connection').promise;
    await clock.advance(2_999);
    assert.deepEqual(starts(runtime), ['migrate']);
    await clock.advance(1);
    await held;
    assert.deepEqual(starts(runtime), ['migrate', 'app']);
  });

  it('a failed job fails the wake with its exit code and rolls back', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('g', 'migrate', { runsFor: { ms: 1_000, exitCode: 2 } });
    runtime.add('g', 'app', { dependsOn: [{ name: 'migrate', condition: 'service_completed_successfully' }] });
    const g = group('g');
    const held = g.hold('connection').promise;
    const failed = assert.rejects(held, (error: unknown) => error instanceof WakeError && /app cannot start: migrate exited \(exit code 2\)/.test(error.message));
    await clock.advance(1_000);
    await failed;
    assert.deepEqual(starts(runtime), ['migrate']);
  });

  it('a dependency outside the group is started with it, and counted as shared', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('other', 'db');
    runtime.add('g', 'app', { dependsOn: [{ name: 'db', condition: 'service_started' }] });
    const g = group('g');
    await wakeToRunning(g, clock);
    assert.deepEqual(starts(runtime), ['db', 'app']);
    const db = g.snapshot().members?.find((m) => m.name === 'db');
    assert.deepEqual(db?.groups, ['g', 'other']);
  });
});

describe('shared members', () => {
  it('a member of two groups stops only when the second group sleeps', async () => {
    const { runtime, clock, group } = setup();
    runtime.add('a,b', 'db');
    runtime.add('a', 'app1');
    runtime.add('b', 'app2');
    const a = group('a', { idleMs: 10_000 });
    const b = group('b', { idleMs: 20_000 });
    await wakeToRunning(a, clock);
    await wakeToRunning(b, clock);
    assert.equal(runtime.count('start db'), 1, 'started once, by whichever group woke first');
    await clock.advance(10_000);
    assert.equal(a.state, 'Idle');
    assert.deepEqual(runtime.calls.filter((c) => c.startsWith('stop ')), ['stop app1'], 'db stays up: group b uses it');
    await clock.advance(10_000);
    assert.equal(b.state, 'Idle');
    assert.deepEqual(runtime.calls.filter((c) => c.startsWith('stop ')), ['stop app1', 'stop app2', 'stop db']);
  });

  it('what another proxy says about its group decides, where one manages it', async () => {
    const awake = new Map<string, boolean | null>([['b', true]]);
    const { runtime, clock, group } = setup({}, { isAwake: (name) => Promise.resolve(awake.get(name) ?? null) });
    runtime.add('a,b', 'db');
    runtime.add('a', 'app1');
    const a = group('a');
    await wakeToRunning(a, clock);
    await a.sleep('operator');
    assert.equal(runtime.count('stop db'), 0, "b's proxy has b awake, though no member of b's own is up");
    awake.set('b', false);
    await wakeToRunning(a, clock);
    await a.sleep('operator');
    assert.equal(runtime.count('stop db'), 1);
  });
});

describe('sleeping by pause', () => {
  it('idle pauses; the next connection unpauses, trusting health the members had; the ladder stops after its period', async () => {
    const { runtime, clock, group } = setup({ sleep: { mode: 'pause', stopAfterMs: 60_000 } });
    runtime.add('g', 'web', { healthOnStart: 'healthy' });
    const g = group('g');
    await wakeToRunning(g, clock);
    await clock.advance(10_000);
    assert.equal(g.state, 'Idle');
    assert.equal(g.snapshot().sleeping, 'pause');
    assert.equal(runtime.count('pause web'), 1);
    runtime.set('web', { health: 'unhealthy' }); // Docker kept checking while it was frozen
    await wakeToRunning(g, clock);
    assert.equal(runtime.count('start web'), 2, 'woken by unpausing');
    await clock.advance(10_000);
    assert.equal(runtime.count('pause web'), 2);
    await clock.advance(59_999);
    assert.equal(runtime.count('stop web'), 0);
    await clock.advance(1);
    assert.equal(runtime.count('stop web'), 1);
    assert.equal(g.snapshot().sleeping, 'stop');
  });

  it('a connection left open while paused stays open, and its bytes wake the group', async () => {
    const { runtime, clock, group } = setup({ sleep: { mode: 'pause', stopAfterMs: null } });
    runtime.add('g', 'web');
    const g = group('g');
    await wakeToRunning(g, clock);
    let cut = false;
    const tracker = g.track(() => undefined);
    tracker.established(() => (cut = true));
    await clock.advance(10_000);
    assert.equal(g.state, 'Idle');
    assert.equal(cut, false, 'paused, not cut');
    tracker.transferred('in', 5);
    await clock.advance(0);
    assert.equal(g.state, 'Running');
    assert.equal(runtime.count('start web'), 2);
  });
});

describe('backing off after failed wakes', () => {
  it('a member that exits at once is started a handful of times for a burst, and the wake command goes past the wait', async () => {
    const { runtime, clock, group, logger } = setup({ startTimeoutMs: 1_000 });
    runtime.add('g', 'web', { healthOnStart: 'starting' }); // never healthy: every wake fails at the start timeout
    const g = group('g');
    for (let i = 0; i < 20; i++) {
      g.hold(`connection ${i}`).promise.catch(() => undefined);
      await clock.advance(1_000);
    }
    assert.ok(runtime.count('start web') <= 8, `started ${runtime.count('start web')} times`);
    assert.ok(g.snapshot().backoff.failures >= 3);
    assert.ok(logger.matching(/warn \[g\] closed \d+ connection\(s\) without waking: \d+ wakes failed in a row; the next may begin in/).length >= 1);
    const forced = g.hold('wake command', { force: true }).promise;
    await clock.advance(0);
    assert.equal(g.state, 'Starting', 'the wake command is not refused');
    runtime.set('web', { health: 'healthy' });
    await clock.advance(0);
    await forced;
    assert.deepEqual(g.snapshot().backoff, { failures: 0, msUntilRetry: null }, 'one success resets it');
  });
});

describe('an idle byte threshold', () => {
  it('the window: bytes count for one idle period and up to a tenth more; the group sleeps only after a whole period', async () => {
    for (const [bytes, sleepsAt] of [
      [999, 10_000], // below the threshold: asleep as soon as a whole idle period has passed
      [1_000, 11_000], // at the threshold: awake until that tenth has left the window
    ] as const) {
      const { runtime, clock, group } = setup({ idleMs: 10_000, idleThresholdBytes: 1_000 });
      runtime.add('g', 'web');
      const g = group('g');
      await wakeToRunning(g, clock);
      const tracker = g.track(() => undefined);
      tracker.established(() => undefined);
      tracker.transferred('out', bytes);
      await clock.advance(sleepsAt - 1);
      assert.equal(g.state, 'Running', `${bytes} bytes: still up at ${sleepsAt - 1}ms`);
      await clock.advance(1);
      assert.equal(g.state, 'Idle', `${bytes} bytes: asleep at ${sleepsAt}ms`);
      assert.equal(runtime.count('stop web'), 1);
    }
  });

  it('a steady trickle below the threshold lets the group sleep, and closes the trickling connection; traffic above it keeps it up', async () => {
    const { runtime, clock, group } = setup({ idleMs: 10_000, idleThresholdBytes: 1_000 });
    runtime.add('g', 'web');
    const g = group('g');
    await wakeToRunning(g, clock);
    const tracker = g.track(() => undefined);
    let cut = false;
    tracker.established(() => (cut = true));
    for (let t = 0; t < 30; t++) {
      tracker.transferred('in', 200); // 2,000 bytes per idle period
      await clock.advance(1_000);
    }
    assert.equal(g.state, 'Running');
    for (let t = 0; t < 30 && runtime.count('stop web') === 0; t++) {
      tracker.transferred('in', 10); // a monitor's keep-alive
      await clock.advance(1_000);
    }
    assert.equal(g.state, 'Idle');
    assert.equal(cut, true, 'the trickling connection is closed with the stop');
  });

  it('a new connection alone is not activity under a threshold', async () => {
    const { runtime, clock, group } = setup({ idleMs: 10_000, idleThresholdBytes: 1 });
    runtime.add('g', 'web');
    const g = group('g');
    await wakeToRunning(g, clock);
    for (let t = 0; t < 12; t++) {
      const monitor = g.track(() => undefined); // connects and closes every second, sending nothing
      monitor.established(() => undefined);
      monitor.closed();
      await clock.advance(1_000);
    }
    assert.equal(g.state, 'Idle');
  });
});

await settle();
