import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, type Backoff, type Effect, INITIAL_STATE, type MachineEvent, type MachineState, transition } from '../../src/core/group-machine.js';
import type { Readiness } from '../../src/core/readiness.js';

const NONE: Backoff = { failures: 0, until: null };
const types = (effects: readonly Effect[]): string[] => effects.map((e) => e.type);
const starting = (launched: boolean, backoff = NONE): MachineState => ({ name: 'Starting', launched, last: null, waitingFor: null, backoff });
const running = (settling: boolean): MachineState => ({ name: 'Running', settling, backoff: NONE });
const idle = (paused = false, backoff = NONE): MachineState => ({ name: 'Idle', awake: false, paused, backoff });
const down: Readiness = { kind: 'down', detail: 'web exited (exit code 3)', anyUp: false };
const at = (state: MachineState, event: MachineEvent, now = 0) => transition(state, event, now);

describe('group lifecycle transitions', () => {
  it('starts Idle and wakes on demand: launch and arm the start timer', () => {
    const step = at(INITIAL_STATE, { type: 'wake', reason: 'connection' });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(types(step.effects), ['launch', 'armStartTimer']);
    assert.equal(step.reason, 'connection');
  });

  it('a second wake while Starting does nothing more (one start per group)', () => {
    const step = at(starting(false), { type: 'wake', reason: 'another connection' });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(step.effects, []);
  });

  it('ignores member readings until the start calls have returned', () => {
    const step = at(starting(false), { type: 'observed', readiness: down });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(step.effects, []);
  });

  it('an ordered start says what it waits for, and the start timeout names it', () => {
    const waiting = at(starting(false), { type: 'waiting', detail: 'app is waiting for db to be healthy' });
    assert.deepEqual(waiting.state, { ...starting(false), waitingFor: 'app is waiting for db to be healthy' });
    const timedOut = at(waiting.state, { type: 'startTimedOut', after: '60s' });
    assert.match(timedOut.reason, /^wake failed: not ready after 60s: app is waiting for db to be healthy$/);
  });

  it('becomes Running and releases the held connections once every member is ready', () => {
    const step = at(starting(false), { type: 'launched', readiness: { kind: 'ready' } });
    assert.deepEqual(step.state, running(true));
    assert.deepEqual(types(step.effects), ['startIdleClock', 'release'], 'the start timer runs on while the group settles');
  });

  it('keeps waiting while a health check has not passed, then runs when it does', () => {
    const waiting = at(starting(false), { type: 'launched', readiness: { kind: 'pending', detail: 'web is not healthy yet' } });
    assert.equal(waiting.state.name, 'Starting');
    assert.deepEqual(waiting.effects, []);
    const ready = at(waiting.state, { type: 'observed', readiness: { kind: 'ready' } });
    assert.equal(ready.state.name, 'Running');
  });

  it('a member that exits during start fails the wake, rejects held connections, and rolls back what runs', () => {
    const step = at(starting(true), { type: 'observed', readiness: { ...down, anyUp: true } });
    assert.equal(step.state.name, 'Stopping');
    assert.deepEqual(types(step.effects), ['disarmStartTimer', 'reject', 'halt']);
    assert.equal(step.failed, true);
    assert.match(step.reason, /wake failed: web exited \(exit code 3\)/);
  });

  it('a failed start with nothing running goes straight back to Idle, counting the failure', () => {
    const step = at(starting(false), { type: 'launchFailed', reason: 'no members', rollback: false });
    assert.deepEqual(step.state, idle(false, { failures: 1, until: null }));
    assert.deepEqual(types(step.effects), ['disarmStartTimer', 'reject']);
  });

  it('an unhealthy member fails the wake', () => {
    const step = at(starting(true), { type: 'observed', readiness: { kind: 'unhealthy', detail: 'web is unhealthy' } });
    assert.equal(step.state.name, 'Stopping');
    assert.ok(step.effects.some((e) => e.type === 'reject' && e.reason.includes('web is unhealthy')));
  });

  it('the start timeout names what was still missing', () => {
    const pending: MachineState = { name: 'Starting', launched: true, last: { kind: 'pending', detail: 'web is not healthy yet' }, waitingFor: null, backoff: NONE };
    const step = at(pending, { type: 'startTimedOut', after: '60s' });
    assert.equal(step.state.name, 'Stopping');
    assert.ok(step.effects.some((e) => e.type === 'reject' && e.reason === 'wake failed: not ready after 60s: web is not healthy yet'));
  });

  it('goes Running when members are started outside proxytainer, and Idle when they stop outside it', () => {
    const up = at(INITIAL_STATE, { type: 'observed', readiness: { kind: 'ready' } });
    assert.deepEqual(up.state, running(false));
    assert.deepEqual(types(up.effects), ['startIdleClock']);
    const gone = at(up.state, { type: 'observed', readiness: down });
    assert.equal(gone.state.name, 'Idle');
    assert.deepEqual(types(gone.effects), ['stopIdleClock', 'cutConnections']);
    assert.match(gone.reason, /changed outside proxytainer/);
  });

  it('stops when idle: connections are cut before the stop, so servers that wait for their clients stop at once', () => {
    const stopping = at(running(false), { type: 'idleElapsed', reason: 'no traffic for 10s', mode: 'stop' });
    assert.deepEqual(stopping.state, { name: 'Stopping', mode: 'stop', backoff: NONE });
    assert.deepEqual(types(stopping.effects), ['disarmStartTimer', 'stopIdleClock', 'cutConnections', 'halt']);
    const stopped = at(stopping.state, { type: 'stopped', mode: 'stop', error: null, waiting: 0 });
    assert.deepEqual(stopped.state, idle());
    assert.deepEqual(types(stopped.effects), ['cutConnections']);
  });

  it('a failed stop leaves the group Idle but awake, so the next reading can find it Running', () => {
    const step = at({ name: 'Stopping', mode: 'stop', backoff: NONE }, { type: 'stopped', mode: 'stop', error: 'web: Docker refused', waiting: 0 });
    assert.deepEqual(step.state, { name: 'Idle', awake: true, paused: false, backoff: NONE });
    assert.match(step.reason, /stop failed/);
  });

  it('a wake while Stopping waits for the stop, which then wakes the group again for whoever still waits', () => {
    const stopping: MachineState = { name: 'Stopping', mode: 'stop', backoff: NONE };
    const step = at(stopping, { type: 'wake', reason: 'connection' });
    assert.deepEqual(step, { state: stopping, effects: [], reason: '' });
    const stopped = at(stopping, { type: 'stopped', mode: 'stop', error: null, waiting: 2 });
    assert.equal(stopped.state.name, 'Idle');
    const [cut, then] = stopped.effects;
    assert.equal(cut?.type, 'cutConnections');
    assert.deepEqual(then, { type: 'then', event: { type: 'wake', reason: '2 connection(s) waited for the stop' } });
    assert.equal(at(stopped.state, (then as { event: MachineEvent }).event).state.name, 'Starting');
  });

  it('sleep puts a Running group to sleep its way, and an Idle group only when something is up', () => {
    assert.equal(at(running(false), { type: 'sleep', reason: 'operator', mode: 'pause' }).state.name, 'Stopping');
    assert.equal(at(idle(), { type: 'sleep', reason: 'operator', mode: 'stop' }).state.name, 'Idle');
    assert.equal(at({ ...idle(), awake: true } as MachineState, { type: 'sleep', reason: 'operator', mode: 'stop' }).state.name, 'Stopping');
  });

  it('sleep while Starting rejects the held connections and stops what started', () => {
    const step = at(starting(true), { type: 'sleep', reason: 'operator', mode: 'pause' });
    assert.deepEqual(step.state, { name: 'Stopping', mode: 'stop', backoff: NONE });
    assert.ok(step.effects.some((e) => e.type === 'reject'));
  });

  it('late results of an abandoned start are ignored while Stopping', () => {
    for (const event of [
      { type: 'launched', readiness: { kind: 'ready' } },
      { type: 'launchFailed', reason: 'x', rollback: true },
      { type: 'startTimedOut', after: '1s' },
      { type: 'idleElapsed', reason: 'x', mode: 'stop' },
    ] as const) {
      const stopping: MachineState = { name: 'Stopping', mode: 'stop', backoff: NONE };
      const step = at(stopping, event);
      assert.deepEqual(step, { state: stopping, effects: [], reason: '' });
    }
  });

  it('a member that goes down before any connection reached the upstream failed the wake: close what waits, roll back', () => {
    const step = at(running(true), { type: 'observed', readiness: { ...down, anyUp: true } });
    assert.equal(step.state.name, 'Stopping');
    assert.deepEqual(types(step.effects), ['stopIdleClock', 'disarmStartTimer', 'reject', 'halt', 'cutConnections']);
    assert.match(step.reason, /^wake failed: web exited \(exit code 3\)$/);
    assert.deepEqual(at(running(true), { type: 'observed', readiness: down }).state, idle(false, { failures: 1, until: null }), 'nothing left to roll back');
  });

  it('once a connection reached the upstream, or the start timeout passed, going down is a change made outside', () => {
    for (const event of [{ type: 'reached' }, { type: 'startTimedOut', after: '60s' }] as const) {
      const settled = at(running(true), event);
      assert.deepEqual(settled.state, running(false));
      assert.deepEqual(types(settled.effects), event.type === 'reached' ? ['disarmStartTimer'] : []);
      const gone = at(settled.state, { type: 'observed', readiness: down });
      assert.equal(gone.state.name, 'Idle');
      assert.ok(!gone.effects.some((e) => e.type === 'reject'));
      assert.match(gone.reason, /changed outside proxytainer/);
    }
  });
});

describe('sleeping by pause', () => {
  it('pauses without cutting connections, then counts down to a stop', () => {
    const pausing = at(running(false), { type: 'idleElapsed', reason: 'no traffic for 1m', mode: 'pause' });
    assert.deepEqual(pausing.state, { name: 'Stopping', mode: 'pause', backoff: NONE });
    assert.deepEqual(types(pausing.effects), ['disarmStartTimer', 'stopIdleClock', 'halt'], 'connections stay open, frozen with the server');
    const paused = at(pausing.state, { type: 'stopped', mode: 'pause', error: null, waiting: 0 });
    assert.deepEqual(paused.state, idle(true));
    assert.deepEqual(types(paused.effects), ['armLadder']);
    assert.equal(paused.reason, 'every member paused');
  });

  it('after the ladder period a paused group is stopped: connections cut first', () => {
    const step = at(idle(true), { type: 'ladderElapsed', reason: 'paused for 1h without traffic' });
    assert.deepEqual(step.state, { name: 'Stopping', mode: 'stop', backoff: NONE });
    assert.deepEqual(types(step.effects), ['cutConnections', 'halt']);
    assert.deepEqual(at(step.state, { type: 'stopped', mode: 'stop', error: null, waiting: 0 }).state, idle(false));
    assert.deepEqual(at(idle(false), { type: 'ladderElapsed', reason: 'late' }).effects, [], 'a stopped group has nothing left to stop');
  });

  it('a wake, or an unpause made outside, ends the count-down', () => {
    assert.deepEqual(types(at(idle(true), { type: 'wake', reason: 'connection' }).effects), ['disarmLadder', 'launch', 'armStartTimer']);
    const outside = at(idle(true), { type: 'observed', readiness: { kind: 'ready' } });
    assert.deepEqual(types(outside.effects), ['disarmLadder', 'startIdleClock']);
    assert.equal(outside.reason, 'every member is running again (unpaused outside proxytainer)');
  });
});

describe('backing off after failed wakes', () => {
  it('waits nothing for the first failures, then 1 s doubling to 5 min', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 10, 20].map(backoffDelay), [0, 0, 1_000, 2_000, 4_000, 128_000, 300_000]);
  });

  it('the third failure in a row makes the next wake wait; connections meanwhile are refused at once', () => {
    let state = idle();
    for (let i = 1; i <= 3; i++) {
      const woken = at(state, { type: 'wake', reason: 'connection' }, 10_000);
      assert.equal(woken.state.name, 'Starting', `attempt ${i} may begin at once`);
      state = at(woken.state, { type: 'launchFailed', reason: 'web exited', rollback: false }, 10_000).state;
    }
    assert.deepEqual(state, idle(false, { failures: 3, until: 11_000 }));
    const refused = at(state, { type: 'wake', reason: 'connection' }, 10_500);
    assert.equal(refused.state, state);
    assert.deepEqual(refused.effects, [{ type: 'refuse', reason: 'not woken: 3 wakes failed in a row; the next may begin in 500ms' }]);
    assert.equal(at(state, { type: 'wake', reason: 'connection' }, 11_000).state.name, 'Starting', 'allowed again once the wait is over');
    assert.equal(at(state, { type: 'wake', reason: 'wake command', force: true }, 10_500).state.name, 'Starting', 'the wake command goes past it');
  });

  it('one success forgets the failures; a crash while settling counts as one', () => {
    const failing = starting(true, { failures: 5, until: null });
    const up = at(failing, { type: 'observed', readiness: { kind: 'ready' } });
    assert.deepEqual(up.state, { name: 'Running', settling: true, backoff: { failures: 5, until: null } });
    const crashed = at(up.state, { type: 'observed', readiness: down }, 0);
    assert.deepEqual(crashed.state, idle(false, { failures: 6, until: 8_000 }));
    assert.match(crashed.reason, /6 failed wakes in a row, so the next may begin in 8s/);
    assert.deepEqual(at(up.state, { type: 'reached' }).state, running(false));
  });
});
