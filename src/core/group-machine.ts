import { formatDuration } from './duration.js';
import type { Readiness } from './readiness.js';
import type { SleepMode } from './runtime.js';

/**
 * The group lifecycle as data: states, events and effects, and one pure
 * transition function. The Group controller feeds it events (with the time)
 * and runs the effects it returns; nothing here touches the runtime, sockets
 * or timers.
 */

export type GroupStateName = 'Idle' | 'Starting' | 'Running' | 'Stopping';

/** Failed wakes in a row, and until when the next may not begin (null: at once). */
export interface Backoff {
  readonly failures: number;
  readonly until: number | null;
}

/** Wakes that may fail in a row before the next has to wait. */
export const FREE_FAILURES = 3;
export const BACKOFF_FIRST_MS = 1_000;
export const BACKOFF_MAX_MS = 300_000;

const NO_FAILURES: Backoff = { failures: 0, until: null };

export type MachineState =
  /**
   * `awake`: some member is up although the group is not serving (a partial
   * or failed start, a failed stop). `paused`: the group sleeps by pause, so
   * its members keep their memory and wake in milliseconds.
   */
  | { readonly name: 'Idle'; readonly awake: boolean; readonly paused: boolean; readonly backoff: Backoff }
  /**
   * `launched`: the start calls returned, so what members report now is the
   * outcome. `waitingFor`: what an ordered start waits for before the next
   * member may start.
   */
  | { readonly name: 'Starting'; readonly launched: boolean; readonly last: Readiness | null; readonly waitingFor: string | null; readonly backoff: Backoff }
  /**
   * `settling`: woken by us, and no connection has reached the upstream yet.
   * A member that goes down now failed the wake (it crashed on start); once a
   * connection got through, or the start timeout passed, going down is a
   * change made outside, and the failures behind it are forgotten.
   */
  | { readonly name: 'Running'; readonly settling: boolean; readonly backoff: Backoff }
  | { readonly name: 'Stopping'; readonly mode: SleepMode; readonly backoff: Backoff };

export type MachineEvent =
  /** A connection or an operator wants the group; `force` (the wake command) goes past a backoff. */
  | { readonly type: 'wake'; readonly reason: string; readonly force?: boolean }
  /** A fresh reading of the members, after a runtime event or a reconcile. */
  | { readonly type: 'observed'; readonly readiness: Readiness }
  /** An ordered start waits for a member before it can go on. */
  | { readonly type: 'waiting'; readonly detail: string }
  /** Every start call succeeded; `readiness` was read after them. */
  | { readonly type: 'launched'; readonly readiness: Readiness }
  /** A start call failed. `rollback`: some member is up and must be put back to sleep. */
  | { readonly type: 'launchFailed'; readonly reason: string; readonly rollback: boolean }
  | { readonly type: 'startTimedOut'; readonly after: string }
  /** A connection reached the upstream: the wake has proven itself. */
  | { readonly type: 'reached' }
  /** Nothing moved for the idle period: sleep the group's way. */
  | { readonly type: 'idleElapsed'; readonly reason: string; readonly mode: SleepMode }
  /** An operator asked for sleep now. */
  | { readonly type: 'sleep'; readonly reason: string; readonly mode: SleepMode }
  /** A paused group stayed unused long enough: stop it to free its memory. */
  | { readonly type: 'ladderElapsed'; readonly reason: string }
  /** The sleep calls returned; `error` says what failed, if anything; `waiting`: what was held meanwhile. */
  | { readonly type: 'stopped'; readonly mode: SleepMode; readonly error: string | null; readonly waiting: number };

export type Effect =
  | { readonly type: 'launch' }
  | { readonly type: 'halt'; readonly mode: SleepMode }
  | { readonly type: 'release' }
  /** Close what waits for a wake that failed (held connections, connections still connecting), with the reason. */
  | { readonly type: 'reject'; readonly reason: string }
  /** Close what waits, without a wake: the group is backing off after failed wakes. */
  | { readonly type: 'refuse'; readonly reason: string }
  | { readonly type: 'armStartTimer' }
  | { readonly type: 'disarmStartTimer' }
  /** The idle clock starts from now. */
  | { readonly type: 'startIdleClock' }
  | { readonly type: 'stopIdleClock' }
  /** Start counting how long the group stays paused (when it sleeps by pause, then stop). */
  | { readonly type: 'armLadder' }
  | { readonly type: 'disarmLadder' }
  | { readonly type: 'cutConnections'; readonly reason: string }
  /** Feed this event to the machine next. */
  | { readonly type: 'then'; readonly event: MachineEvent };

export interface Step {
  readonly state: MachineState;
  readonly effects: readonly Effect[];
  /** Why the state changed, for the `State change (A => B)` log line. */
  readonly reason: string;
  /** This step ends a wake that failed. */
  readonly failed?: true;
}

export const INITIAL_STATE: MachineState = { name: 'Idle', awake: false, paused: false, backoff: NO_FAILURES };

function stay(state: MachineState): Step {
  return { state, effects: [], reason: '' };
}

/** How long the next wake must wait after `failures` failed wakes in a row: nothing for the first few, then 1 s doubling to 5 min. */
export function backoffDelay(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - FREE_FAILURES));
}

function failWake(reason: string, rollback: boolean, before: Backoff, now: number): Step {
  const failures = before.failures + 1;
  const delay = backoffDelay(failures);
  const backoff = { failures, until: delay === 0 ? null : now + delay };
  const message = `wake failed: ${reason}`;
  const effects: Effect[] = [{ type: 'disarmStartTimer' }, { type: 'reject', reason: message }];
  const waitNote = delay === 0 ? '' : `; ${failures} failed wakes in a row, so the next may begin in ${formatDuration(delay)}`;
  return rollback
    ? { state: { name: 'Stopping', mode: 'stop', backoff }, effects: [...effects, { type: 'halt', mode: 'stop' }], reason: message + waitNote, failed: true }
    : { state: { name: 'Idle', awake: false, paused: false, backoff }, effects, reason: message + waitNote, failed: true };
}

/** Judges the members' state once the start calls have returned. */
function judgeStart(readiness: Readiness, backoff: Backoff, now: number): Step {
  switch (readiness.kind) {
    case 'ready':
      // The start timer runs on while the group settles: it bounds how long a crash still counts as a failed wake.
      return { state: { name: 'Running', settling: true, backoff }, effects: [{ type: 'startIdleClock' }, { type: 'release' }], reason: 'every member is ready' };
    case 'pending':
      return stay({ name: 'Starting', launched: true, last: readiness, waitingFor: null, backoff });
    case 'down':
      return failWake(readiness.detail, readiness.anyUp, backoff, now);
    case 'unhealthy':
      return failWake(readiness.detail, true, backoff, now);
    case 'empty':
      return failWake('every member was removed', false, backoff, now);
  }
}

function isAwake(readiness: Readiness): boolean {
  return readiness.kind === 'pending' || readiness.kind === 'unhealthy' || (readiness.kind === 'down' && readiness.anyUp);
}

/** Putting the group to sleep: a stop cuts its connections first, so servers that wait for their clients stop at once. */
function goToSleep(mode: SleepMode, backoff: Backoff, reason: string, before: readonly Effect[]): Step {
  const cut: Effect[] = mode === 'stop' ? [{ type: 'cutConnections', reason: 'the group is being stopped' }] : [];
  return { state: { name: 'Stopping', mode, backoff }, effects: [...before, ...cut, { type: 'halt', mode }], reason };
}

function fromIdle(state: MachineState & { name: 'Idle' }, event: MachineEvent, now: number): Step {
  const leaveLadder: Effect[] = state.paused ? [{ type: 'disarmLadder' }] : [];
  switch (event.type) {
    case 'wake': {
      const { until } = state.backoff;
      if (until !== null && now < until && event.force !== true) {
        return {
          state,
          effects: [{ type: 'refuse', reason: `not woken: ${state.backoff.failures} wakes failed in a row; the next may begin in ${formatDuration(until - now)}` }],
          reason: '',
        };
      }
      // The wake command is an operator saying the members are fixed: the count of failures starts again.
      return {
        state: { name: 'Starting', launched: false, last: null, waitingFor: null, backoff: event.force === true ? NO_FAILURES : state.backoff },
        effects: [...leaveLadder, { type: 'launch' }, { type: 'armStartTimer' }],
        reason: event.reason,
      };
    }
    case 'observed':
      if (event.readiness.kind === 'ready') {
        const how = state.paused ? 'every member is running again (unpaused outside proxytainer)' : 'every member is running (started outside proxytainer)';
        return { state: { name: 'Running', settling: false, backoff: NO_FAILURES }, effects: [...leaveLadder, { type: 'startIdleClock' }], reason: how };
      }
      return stay({ ...state, awake: isAwake(event.readiness) });
    case 'sleep':
      return state.awake ? goToSleep('stop', state.backoff, event.reason, leaveLadder) : stay(state);
    case 'ladderElapsed':
      return state.paused ? goToSleep('stop', state.backoff, event.reason, []) : stay(state);
    case 'waiting':
    case 'launched':
    case 'launchFailed':
    case 'startTimedOut':
    case 'reached':
    case 'idleElapsed':
    case 'stopped':
      return stay(state);
  }
}

function fromStarting(state: MachineState & { name: 'Starting' }, event: MachineEvent, now: number): Step {
  switch (event.type) {
    case 'observed':
      return state.launched ? judgeStart(event.readiness, state.backoff, now) : stay({ ...state, last: event.readiness });
    case 'waiting':
      return state.launched ? stay(state) : stay({ ...state, waitingFor: event.detail });
    case 'launched':
      return judgeStart(event.readiness, state.backoff, now);
    case 'launchFailed':
      return failWake(event.reason, event.rollback, state.backoff, now);
    case 'startTimedOut': {
      const pending = state.waitingFor ?? (state.last !== null && state.last.kind !== 'ready' && state.last.kind !== 'empty' ? state.last.detail : null);
      return failWake(`not ready after ${event.after}${pending === null ? '' : `: ${pending}`}`, true, state.backoff, now);
    }
    case 'sleep':
      return goToSleep('stop', state.backoff, event.reason, [{ type: 'disarmStartTimer' }, { type: 'reject', reason: `put to sleep while starting (${event.reason})` }]);
    case 'wake':
    case 'reached':
    case 'idleElapsed':
    case 'ladderElapsed':
    case 'stopped':
      return stay(state);
  }
}

function fromRunning(state: MachineState & { name: 'Running' }, event: MachineEvent, now: number): Step {
  switch (event.type) {
    case 'observed': {
      const { readiness } = event;
      if (readiness.kind !== 'down' && readiness.kind !== 'empty') return stay(state);
      if (state.settling) {
        // Down before any connection got through: the wake failed, and waking again for the same connections would loop.
        const failed = readiness.kind === 'down' ? failWake(readiness.detail, readiness.anyUp, state.backoff, now) : failWake('every member was removed', false, state.backoff, now);
        return { ...failed, effects: [{ type: 'stopIdleClock' }, ...failed.effects, { type: 'cutConnections', reason: failed.reason }] };
      }
      const why = readiness.kind === 'down' ? `${readiness.detail} (changed outside proxytainer)` : 'every member was removed';
      return {
        state: { name: 'Idle', awake: readiness.kind === 'down' && readiness.anyUp, paused: false, backoff: NO_FAILURES },
        effects: [{ type: 'stopIdleClock' }, { type: 'cutConnections', reason: why }],
        reason: why,
      };
    }
    case 'reached':
      return state.settling ? { state: { name: 'Running', settling: false, backoff: NO_FAILURES }, effects: [{ type: 'disarmStartTimer' }], reason: '' } : stay(state);
    case 'startTimedOut':
      return state.settling ? stay({ name: 'Running', settling: false, backoff: NO_FAILURES }) : stay(state);
    case 'idleElapsed':
    case 'sleep':
      return goToSleep(event.mode, NO_FAILURES, event.reason, [{ type: 'disarmStartTimer' }, { type: 'stopIdleClock' }]);
    case 'wake':
    case 'waiting':
    case 'launched':
    case 'launchFailed':
    case 'ladderElapsed':
    case 'stopped':
      return stay(state);
  }
}

function fromStopping(state: MachineState & { name: 'Stopping' }, event: MachineEvent): Step {
  switch (event.type) {
    case 'stopped': {
      // What arrived while the group went to sleep waits for it: wake it again for them.
      const again: Effect[] = event.waiting > 0 ? [{ type: 'then', event: { type: 'wake', reason: `${event.waiting} connection(s) waited for the stop` } }] : [];
      if (event.error !== null) {
        return { state: { name: 'Idle', awake: true, paused: false, backoff: state.backoff }, effects: [{ type: 'cutConnections', reason: 'the group was stopped' }, ...again], reason: `stop failed: ${event.error}` };
      }
      return event.mode === 'pause'
        ? { state: { name: 'Idle', awake: false, paused: true, backoff: state.backoff }, effects: [{ type: 'armLadder' }, ...again], reason: 'every member paused' }
        : { state: { name: 'Idle', awake: false, paused: false, backoff: state.backoff }, effects: [{ type: 'cutConnections', reason: 'the group was stopped' }, ...again], reason: 'every member stopped' };
    }
    case 'wake':
    case 'observed':
    case 'waiting':
    case 'launched':
    case 'launchFailed':
    case 'startTimedOut':
    case 'reached':
    case 'idleElapsed':
    case 'sleep':
    case 'ladderElapsed':
      return stay(state);
  }
}

/** The whole lifecycle: given a state, an event and the time, the next state and what to do. */
export function transition(state: MachineState, event: MachineEvent, now: number): Step {
  switch (state.name) {
    case 'Idle':
      return fromIdle(state, event, now);
    case 'Starting':
      return fromStarting(state, event, now);
    case 'Running':
      return fromRunning(state, event, now);
    case 'Stopping':
      return fromStopping(state, event);
  }
}
