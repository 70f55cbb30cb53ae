import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Effect, INITIAL_STATE, type MachineEvent, type MachineState, transition } from '../../src/core/group-machine.js';
import type { Readiness } from '../../src/core/readiness.js';

const types = (effects: readonly Effect[]): string[] => effects.map((e) => e.type);
const starting = (launched: boolean): MachineState => ({ name: 'Starting', launched, last: null });
const down: Readiness = { kind: 'down', detail: 'web is exited (exit code 3)', anyUp: false };

describe('group lifecycle transitions', () => {
  it('starts Idle and wakes on demand: launch and arm the start timer', () => {
    const step = transition(INITIAL_STATE, { type: 'wake', reason: 'connection' });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(types(step.effects), ['launch', 'armStartTimer']);
    assert.equal(step.reason, 'connection');
  });

  it('a second wake while Starting does nothing more (one start per group)', () => {
    const step = transition(starting(false), { type: 'wake', reason: 'another connection' });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(step.effects, []);
  });

  it('ignores member readings until the start calls have returned', () => {
    const step = transition(starting(false), { type: 'observed', readiness: down });
    assert.equal(step.state.name, 'Starting');
    assert.deepEqual(step.effects, []);
  });

  it('becomes Running and releases the held connections once every member is ready', () => {
    const step = transition(starting(false), { type: 'launched', readiness: { kind: 'ready' } });
    assert.deepEqual(step.state, { name: 'Running', settling: true });
    assert.deepEqual(types(step.effects), ['startIdleClock', 'release'], 'the start timer runs on while the group settles');
  });

  it('keeps waiting while a healthcheck has not passed, then runs when it does', () => {
    const waiting = transition(starting(false), { type: 'launched', readiness: { kind: 'pending', detail: 'web is not healthy yet' } });
    assert.equal(waiting.state.name, 'Starting');
    assert.deepEqual(waiting.effects, []);
    const ready = transition(waiting.state, { type: 'observed', readiness: { kind: 'ready' } });
    assert.equal(ready.state.name, 'Running');
  });

  it('a member that exits during start fails the wake, rejects held connections, and rolls back what runs', () => {
    const step = transition(starting(true), { type: 'observed', readiness: { ...down, anyUp: true } });
    assert.equal(step.state.name, 'Stopping');
    assert.deepEqual(types(step.effects), ['disarmStartTimer', 'reject', 'halt']);
    assert.match(step.reason, /wake failed: web is exited \(exit code 3\)/);
  });

  it('a failed start with nothing running goes straight back to Idle', () => {
    const step = transition(starting(false), { type: 'launchFailed', reason: 'no members', rollback: false });
    assert.deepEqual(step.state, { name: 'Idle', awake: false });
    assert.deepEqual(types(step.effects), ['disarmStartTimer', 'reject']);
  });

  it('an unhealthy member fails the wake', () => {
    const step = transition(starting(true), { type: 'observed', readiness: { kind: 'unhealthy', detail: 'web is unhealthy' } });
    assert.equal(step.state.name, 'Stopping');
    assert.ok(step.effects.some((e) => e.type === 'reject' && e.reason.includes('web is unhealthy')));
  });

  it('the start timeout names what was still missing', () => {
    const pending: MachineState = { name: 'Starting', launched: true, last: { kind: 'pending', detail: 'web is not healthy yet' } };
    const step = transition(pending, { type: 'startTimedOut', after: '60s' });
    assert.equal(step.state.name, 'Stopping');
    assert.ok(step.effects.some((e) => e.type === 'reject' && e.reason === 'wake failed: not ready after 60s: web is not healthy yet'));
  });

  it('goes Running when members are started outside proxytainer, and Idle when they stop outside it', () => {
    const up = transition(INITIAL_STATE, { type: 'observed', readiness: { kind: 'ready' } });
    assert.equal(up.state.name, 'Running');
    assert.deepEqual(types(up.effects), ['startIdleClock']);
    const gone = transition(up.state, { type: 'observed', readiness: down });
    assert.equal(gone.state.name, 'Idle');
    assert.deepEqual(types(gone.effects), ['stopIdleClock', 'cutConnections']);
    assert.match(gone.reason, /changed outside proxytainer/);
  });

  it('stops when idle, and is Idle once the stop returns', () => {
    const stopping = transition({ name: 'Running', settling: false }, { type: 'idleElapsed', reason: 'no traffic for 10s' });
    assert.equal(stopping.state.name, 'Stopping');
    assert.deepEqual(types(stopping.effects), ['disarmStartTimer', 'stopIdleClock', 'halt']);
    const idle = transition(stopping.state, { type: 'stopped', error: null, waiting: 0 });
    assert.deepEqual(idle.state, { name: 'Idle', awake: false });
    assert.deepEqual(types(idle.effects), ['cutConnections']);
  });

  it('a failed stop leaves the group Idle but awake, so the next reading can find it Running', () => {
    const idle = transition({ name: 'Stopping' }, { type: 'stopped', error: 'web: Docker refused', waiting: 0 });
    assert.deepEqual(idle.state, { name: 'Idle', awake: true });
    assert.match(idle.reason, /stop failed/);
  });

  it('a wake while Stopping waits for the stop, which then wakes the group again for whoever still waits', () => {
    const step = transition({ name: 'Stopping' }, { type: 'wake', reason: 'connection' });
    assert.equal(step.state.name, 'Stopping');
    assert.deepEqual(step.effects, []);
    const stopped = transition(step.state, { type: 'stopped', error: null, waiting: 2 });
    assert.equal(stopped.state.name, 'Idle');
    const [cut, then] = stopped.effects;
    assert.equal(cut?.type, 'cutConnections');
    assert.deepEqual(then, { type: 'then', event: { type: 'wake', reason: '2 connection(s) waited for the stop' } });
    const wakeAgain = transition(stopped.state, (then as { event: MachineEvent }).event);
    assert.equal(wakeAgain.state.name, 'Starting');
  });

  it('a stop nobody waited through leaves the group Idle', () => {
    const stopped = transition({ name: 'Stopping' }, { type: 'stopped', error: null, waiting: 0 });
    assert.deepEqual(types(stopped.effects), ['cutConnections']);
  });

  it('sleep stops a Running group, and an Idle group only when something runs', () => {
    assert.equal(transition({ name: 'Running', settling: false }, { type: 'sleep', reason: 'operator' }).state.name, 'Stopping');
    assert.equal(transition({ name: 'Idle', awake: false }, { type: 'sleep', reason: 'operator' }).state.name, 'Idle');
    assert.equal(transition({ name: 'Idle', awake: true }, { type: 'sleep', reason: 'operator' }).state.name, 'Stopping');
  });

  it('sleep while Starting rejects the held connections', () => {
    const step = transition(starting(true), { type: 'sleep', reason: 'operator' });
    assert.equal(step.state.name, 'Stopping');
    assert.ok(step.effects.some((e) => e.type === 'reject'));
  });

  it('late results of an abandoned start are ignored while Stopping', () => {
    for (const event of [
      { type: 'launched', readiness: { kind: 'ready' } },
      { type: 'launchFailed', reason: 'x', rollback: true },
      { type: 'startTimedOut', after: '1s' },
      { type: 'idleElapsed', reason: 'x' },
    ] as const) {
      const step = transition({ name: 'Stopping' }, event);
      assert.equal(step.state.name, 'Stopping');
      assert.deepEqual(step.effects, []);
    }
  });

  it('a member that goes down before any connection reached the upstream failed the wake: close what waits, roll back', () => {
    const settling: MachineState = { name: 'Running', settling: true };
    const step = transition(settling, { type: 'observed', readiness: { ...down, anyUp: true } });
    assert.equal(step.state.name, 'Stopping');
    assert.deepEqual(types(step.effects), ['stopIdleClock', 'disarmStartTimer', 'reject', 'halt', 'cutConnections']);
    assert.match(step.reason, /^wake failed: web is exited \(exit code 3\)$/);
    const alone = transition(settling, { type: 'observed', readiness: down });
    assert.deepEqual(alone.state, { name: 'Idle', awake: false }, 'nothing left to roll back');
  });

  it('once a connection reached the upstream, or the start timeout passed, going down is a change made outside', () => {
    const settling: MachineState = { name: 'Running', settling: true };
    for (const event of [{ type: 'reached' }, { type: 'startTimedOut', after: '60s' }] as const) {
      const settled = transition(settling, event);
      assert.deepEqual(settled.state, { name: 'Running', settling: false });
      assert.deepEqual(types(settled.effects), event.type === 'reached' ? ['disarmStartTimer'] : []);
      const gone = transition(settled.state, { type: 'observed', readiness: down });
      assert.equal(gone.state.name, 'Idle');
      assert.ok(!gone.effects.some((e) => e.type === 'reject'));
      assert.match(gone.reason, /changed outside proxytainer/);
    }
  });
});
