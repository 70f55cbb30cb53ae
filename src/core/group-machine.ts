import type { Readiness } from './readiness.js';

/**
 * The group lifecycle as data: states, events and effects, and one pure
 * transition function. The Group controller feeds it events and runs the
 * effects it returns; nothing here touches Docker, sockets or timers.
 */

export type GroupStateName = 'Idle' | 'Starting' | 'Running' | 'Stopping';

export type MachineState =
  /** `awake`: some member is running although the group is not serving (partial or failed start). */
  | { readonly name: 'Idle'; readonly awake: boolean }
  /** `launched`: the start calls returned, so what members report now is the outcome. */
  | { readonly name: 'Starting'; readonly launched: boolean; readonly last: Readiness | null }
  /**
   * `settling`: woken by us, and no connection has reached the upstream yet.
   * A member that goes down now failed the wake (it crashed on start); once a
   * connection got through, or the start timeout passed, going down is a
   * change made outside.
   */
  | { readonly name: 'Running'; readonly settling: boolean }
  | { readonly name: 'Stopping' };

export type MachineEvent =
  /** A connection or an operator wants the group. */
  | { readonly type: 'wake'; readonly reason: string }
  /** A fresh reading of the members, after a runtime event or a reconcile. */
  | { readonly type: 'observed'; readonly readiness: Readiness }
  /** Every start call succeeded; `readiness` was read after them. */
  | { readonly type: 'launched'; readonly readiness: Readiness }
  /** A start call failed. `rollback`: some member is running and must be stopped again. */
  | { readonly type: 'launchFailed'; readonly reason: string; readonly rollback: boolean }
  | { readonly type: 'startTimedOut'; readonly after: string }
  /** A connection reached the upstream: the wake has proven itself. */
  | { readonly type: 'reached' }
  | { readonly type: 'idleElapsed'; readonly reason: string }
  /** An operator asked for sleep now. */
  | { readonly type: 'sleep'; readonly reason: string }
  /** The stop calls returned; `error` says what failed, if anything; `waiting`: connections held meanwhile. */
  | { readonly type: 'stopped'; readonly error: string | null; readonly waiting: number };

export type Effect =
  | { readonly type: 'launch' }
  | { readonly type: 'halt' }
  | { readonly type: 'release' }
  /** Close what waits for the wake (held connections, connections still connecting) with the reason. */
  | { readonly type: 'reject'; readonly reason: string }
  | { readonly type: 'armStartTimer' }
  | { readonly type: 'disarmStartTimer' }
  /** The idle clock starts from now. */
  | { readonly type: 'startIdleClock' }
  | { readonly type: 'stopIdleClock' }
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

export const INITIAL_STATE: MachineState = { name: 'Idle', awake: false };

const IDLE: MachineState = { name: 'Idle', awake: false };
const STOPPING: MachineState = { name: 'Stopping' };

function stay(state: MachineState): Step {
  return { state, effects: [], reason: '' };
}

function failWake(reason: string, rollback: boolean): Step {
  const message = `wake failed: ${reason}`;
  return rollback
    ? { state: STOPPING, effects: [{ type: 'disarmStartTimer' }, { type: 'reject', reason: message }, { type: 'halt' }], reason: message, failed: true }
    : { state: IDLE, effects: [{ type: 'disarmStartTimer' }, { type: 'reject', reason: message }], reason: message, failed: true };
}

/** Judges the members' state once the start calls have returned. */
function judgeStart(readiness: Readiness): Step {
  switch (readiness.kind) {
    case 'ready':
      // The start timer runs on while the group settles: it bounds how long a crash still counts as a failed wake.
      return { state: { name: 'Running', settling: true }, effects: [{ type: 'startIdleClock' }, { type: 'release' }], reason: 'every member is ready' };
    case 'pending':
      return stay({ name: 'Starting', launched: true, last: readiness });
    case 'down':
      return failWake(readiness.detail, readiness.anyUp);
    case 'unhealthy':
      return failWake(readiness.detail, true);
    case 'empty':
      return failWake('every member was removed', false);
  }
}

function isAwake(readiness: Readiness): boolean {
  return readiness.kind === 'pending' || readiness.kind === 'unhealthy' || (readiness.kind === 'down' && readiness.anyUp);
}

function fromIdle(state: MachineState & { name: 'Idle' }, event: MachineEvent): Step {
  switch (event.type) {
    case 'wake':
      return {
        state: { name: 'Starting', launched: false, last: null },
        effects: [{ type: 'launch' }, { type: 'armStartTimer' }],
        reason: event.reason,
      };
    case 'observed':
      if (event.readiness.kind === 'ready') {
        return { state: { name: 'Running', settling: false }, effects: [{ type: 'startIdleClock' }], reason: 'every member is running (started outside proxytainer)' };
      }
      return stay({ name: 'Idle', awake: isAwake(event.readiness) });
    case 'sleep':
      return state.awake ? { state: STOPPING, effects: [{ type: 'halt' }], reason: event.reason } : stay(state);
    case 'launched':
    case 'launchFailed':
    case 'startTimedOut':
    case 'reached':
    case 'idleElapsed':
    case 'stopped':
      return stay(state);
  }
}

function fromStarting(state: MachineState & { name: 'Starting' }, event: MachineEvent): Step {
  switch (event.type) {
    case 'observed':
      return state.launched ? judgeStart(event.readiness) : stay({ ...state, last: event.readiness });
    case 'launched':
      return judgeStart(event.readiness);
    case 'launchFailed':
      return failWake(event.reason, event.rollback);
    case 'startTimedOut': {
      const why = state.last !== null && state.last.kind !== 'ready' && state.last.kind !== 'empty' ? `: ${state.last.detail}` : '';
      return failWake(`not ready after ${event.after}${why}`, true);
    }
    case 'sleep':
      return {
        state: STOPPING,
        effects: [{ type: 'disarmStartTimer' }, { type: 'reject', reason: `put to sleep while starting (${event.reason})` }, { type: 'halt' }],
        reason: event.reason,
      };
    case 'wake':
    case 'reached':
    case 'idleElapsed':
    case 'stopped':
      return stay(state);
  }
}

function fromRunning(state: MachineState & { name: 'Running' }, event: MachineEvent): Step {
  switch (event.type) {
    case 'observed': {
      const { readiness } = event;
      if (readiness.kind !== 'down' && readiness.kind !== 'empty') return stay(state);
      if (state.settling) {
        // Down before any connection got through: the wake failed, and waking again for the same connections would loop.
        const failed = readiness.kind === 'down' ? failWake(readiness.detail, readiness.anyUp) : failWake('every member was removed', false);
        return { ...failed, effects: [{ type: 'stopIdleClock' }, ...failed.effects, { type: 'cutConnections', reason: failed.reason }] };
      }
      const why = readiness.kind === 'down' ? `${readiness.detail} (changed outside proxytainer)` : 'every member was removed';
      return {
        state: { name: 'Idle', awake: readiness.kind === 'down' && readiness.anyUp },
        effects: [{ type: 'stopIdleClock' }, { type: 'cutConnections', reason: why }],
        reason: why,
      };
    }
    case 'reached':
      return state.settling ? { state: { name: 'Running', settling: false }, effects: [{ type: 'disarmStartTimer' }], reason: '' } : stay(state);
    case 'startTimedOut':
      return state.settling ? { state: { name: 'Running', settling: false }, effects: [], reason: '' } : stay(state);
    case 'idleElapsed':
    case 'sleep':
      return { state: STOPPING, effects: [{ type: 'disarmStartTimer' }, { type: 'stopIdleClock' }, { type: 'halt' }], reason: event.reason };
    case 'wake':
    case 'launched':
    case 'launchFailed':
    case 'stopped':
      return stay(state);
  }
}

function fromStopping(state: MachineState & { name: 'Stopping' }, event: MachineEvent): Step {
  switch (event.type) {
    case 'stopped': {
      const cut: Effect = { type: 'cutConnections', reason: 'the group was stopped' };
      // Connections that arrived while it stopped wait for it: wake it again for them.
      const again: Effect[] = event.waiting > 0 ? [{ type: 'then', event: { type: 'wake', reason: `${event.waiting} connection(s) waited for the stop` } }] : [];
      return event.error === null
        ? { state: IDLE, effects: [cut, ...again], reason: 'every member stopped' }
        : { state: { name: 'Idle', awake: true }, effects: [cut, ...again], reason: `stop failed: ${event.error}` };
    }
    case 'wake':
    case 'observed':
    case 'launched':
    case 'launchFailed':
    case 'startTimedOut':
    case 'reached':
    case 'idleElapsed':
    case 'sleep':
      return stay(state);
  }
}

/** The whole lifecycle: given a state and an event, the next state and what to do. */
export function transition(state: MachineState, event: MachineEvent): Step {
  switch (state.name) {
    case 'Idle':
      return fromIdle(state, event);
    case 'Starting':
      return fromStarting(state, event);
    case 'Running':
      return fromRunning(state, event);
    case 'Stopping':
      return fromStopping(state, event);
  }
}
