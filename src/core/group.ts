import { type Clock, type Timer } from './clock.js';
import { formatDuration } from './duration.js';
import { describeError } from './errors.js';
import { failuresOf } from './failures.js';
import { type Effect, type GroupStateName, INITIAL_STATE, type MachineEvent, type MachineState, transition } from './group-machine.js';
import type { Logger } from './logger.js';
import { assessReadiness } from './readiness.js';
import { isUp, type Member, type Runtime } from './runtime.js';
import { SerialQueue } from './serial-queue.js';
import { type ConnectionTracker, Traffic } from './traffic.js';

export type { ConnectionTracker } from './traffic.js';

export interface GroupSettings {
  /** How long without traffic before the group is stopped. */
  readonly idleMs: number;
  /** Wait for health checks to report healthy before forwarding. */
  readonly health: boolean;
  /** How long a wake may take, from the first start call to every member ready. */
  readonly startTimeoutMs: number;
  /** Passed to the runtime's stop; undefined leaves the member's own default. */
  readonly stopTimeoutSeconds: number | undefined;
  /** Open connections keep the group awake even when no bytes move. */
  readonly connectionsKeepAwake: boolean;
}

export interface GroupDeps {
  readonly runtime: Runtime;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Why a held connection was let go without being forwarded. */
export class WakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WakeError';
  }
}

/**
 * A step of the lifecycle, as listeners see it: a state change (`from` differs
 * from `to`), or, while Starting, a change in what the wake still waits for.
 */
export interface Transition {
  readonly from: GroupStateName;
  readonly to: GroupStateName;
  /** Why the state changed; while waiting, what the wake waits for. */
  readonly detail: string;
  /** This step ends a wake that failed (`detail` says why). */
  readonly failed: boolean;
}

/** A connection (or an operator) waiting for the group to run. */
export interface Hold {
  /** Resolves once the group is Running; rejects with a WakeError when the wake fails. */
  readonly promise: Promise<void>;
  /** Stops waiting; the promise rejects with `error`. The wake goes on for the others. */
  readonly cancel: (error: Error) => void;
}

export interface GroupSnapshot {
  readonly name: string;
  readonly state: GroupStateName;
  readonly settings: GroupSettings;
  /** Members as last read from the runtime; null before the first reading. */
  readonly members: readonly Member[] | null;
  readonly held: number;
  readonly connecting: number;
  readonly open: number;
  /** Where the open connections come from, where the listener said (`203.0.113.7:51234`). */
  readonly peers: readonly string[];
  /** Connections since the group was created. */
  readonly accepted: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Since the last connection, byte or wake; null when there has been none. */
  readonly msSinceActivity: number | null;
  /** When Running: milliseconds until the idle stop if nothing happens. */
  readonly msUntilSleep: number | null;
}

/** What a wake whose start calls have returned is still waiting for. */
function pendingDetail(state: MachineState): string | null {
  return state.name === 'Starting' && state.launched && state.last?.kind === 'pending' ? state.last.detail : null;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

const SHUTTING_DOWN = 'proxytainer is shutting down';

/**
 * One group: runs the lifecycle machine, holds what waits for it, and keeps
 * the idle clock. Every rule lives in the machine (group-machine.ts); this
 * controller feeds it events and carries out the effects it returns. Runtime
 * calls go through a queue, one at a time, so a start and a stop of the same
 * group never overlap.
 */
export class Group {
  private machine: MachineState = INITIAL_STATE;
  private readonly waiters = new Set<Waiter>();
  private readonly sleepers: ((error: string | null) => void)[] = [];
  private readonly listeners = new Set<(transition: Transition) => void>();
  private readonly lifetime = new AbortController();
  private readonly logger: Logger;
  private readonly traffic: Traffic;
  private readonly queue: SerialQueue;
  private members: readonly Member[] | null = null;
  private startTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    private currentSettings: GroupSettings,
    private readonly deps: GroupDeps,
  ) {
    this.logger = deps.logger.child(name);
    this.traffic = new Traffic(deps.clock, () => {
      if (this.machine.name === 'Running' && this.machine.settling) this.dispatch({ type: 'reached' });
    });
    this.queue = new SerialQueue((error) => {
      if (!this.closed) this.logger.error(`internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    });
  }

  get state(): GroupStateName {
    return this.machine.name;
  }

  get settings(): GroupSettings {
    return this.currentSettings;
  }

  /** Follows the runtime's changes and reads the members once, so a group already up starts Running. */
  watch(): void {
    this.unsubscribe ??= this.deps.runtime.subscribe((change) => {
      if (change.group === null || change.group === this.name) this.refresh(change.reason);
    });
    this.refresh('startup');
  }

  /** Settings can change while the group lives (labels in discovery mode); they apply from the next use. */
  updateSettings(settings: GroupSettings): void {
    this.currentSettings = settings;
    if (this.machine.name === 'Running') this.scheduleIdleCheck();
  }

  /** Every step of the lifecycle; returns an unsubscribe function. */
  onTransition(listener: (transition: Transition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** State changes only. */
  onStateChange(listener: (state: GroupStateName) => void): () => void {
    return this.onTransition(({ from, to }) => {
      if (from !== to) listener(to);
    });
  }

  /** Resolves once the runtime calls queued so far (the first reading after `watch`, a stop) are done. */
  async settled(): Promise<void> {
    await this.queue.drained();
  }

  /**
   * Waits for the group to run, waking it if needed; `reason` is logged by
   * the wake this call starts. A cancel function rather than an AbortSignal:
   * a held connection costs a closure, not an AbortController (about 1 KB
   * each, which adds up when ten thousand connections wait for one wake).
   */
  hold(reason: string): Hold {
    if (this.closed) return { promise: Promise.reject(new WakeError(SHUTTING_DOWN)), cancel: () => undefined };
    if (this.machine.name === 'Running') return { promise: Promise.resolve(), cancel: () => undefined };
    let waiter: Waiter | undefined;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    const held = waiter as Waiter;
    this.waiters.add(held);
    this.dispatch({ type: 'wake', reason });
    return {
      promise,
      cancel: (error) => {
        if (this.waiters.delete(held)) held.reject(error);
      },
    };
  }

  /**
   * Puts the group to sleep now, as an idle stop would. Resolves once it is
   * Idle, with what the stop that put it there failed to do, or null.
   */
  sleep(reason: string): Promise<string | null> {
    this.dispatch({ type: 'sleep', reason });
    if (this.machine.name !== 'Stopping') return Promise.resolve(null);
    return new Promise((resolve) => this.sleepers.push(resolve));
  }

  /** Counts as activity: the idle clock starts again. */
  touch(): void {
    this.traffic.touch();
  }

  /**
   * Registers a new client connection; it counts as activity and keeps the
   * group from stopping until it is spliced or gone. `abort` closes it, while
   * it is not yet spliced, when the wake it waits for fails. `peer`, where it
   * comes from (`203.0.113.7:51234`), is shown by `status`.
   */
  track(abort: () => void, peer?: string): ConnectionTracker {
    return this.traffic.track(abort, peer);
  }

  snapshot(): GroupSnapshot {
    const now = this.deps.clock.now();
    const { traffic } = this;
    const msSinceActivity = now - traffic.lastActivity;
    return {
      name: this.name,
      state: this.machine.name,
      settings: this.currentSettings,
      members: this.members,
      held: this.waiters.size,
      connecting: traffic.connecting,
      open: traffic.open,
      peers: traffic.peers(),
      accepted: traffic.accepted,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      msSinceActivity: traffic.active ? msSinceActivity : null,
      msUntilSleep: this.machine.name === 'Running' ? Math.max(0, this.currentSettings.idleMs - msSinceActivity) : null,
    };
  }

  /** Teardown: stop following the runtime, abort runtime calls in flight, let what waits go. Members are left as they are. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.startTimer?.cancel();
    this.idleTimer?.cancel();
    this.lifetime.abort(new WakeError(SHUTTING_DOWN));
    this.rejectWaiters(SHUTTING_DOWN);
    for (const sleeper of this.sleepers.splice(0)) sleeper(SHUTTING_DOWN);
    await this.queue.drained();
  }

  private dispatch(event: MachineEvent): void {
    if (this.closed) return;
    const before = this.machine;
    const step = transition(before, event);
    this.machine = step.state;
    const changed = step.state.name !== before.name;
    if (changed) this.logger.info(`State change (${before.name} => ${step.state.name})${step.reason === '' ? '' : `: ${step.reason}`}`);
    if (event.type === 'stopped') for (const sleeper of this.sleepers.splice(0)) sleeper(event.error);
    const waitingFor = pendingDetail(step.state);
    if (changed || waitingFor !== pendingDetail(before)) {
      const detail = changed ? step.reason : (waitingFor ?? '');
      for (const listener of this.listeners) listener({ from: before.name, to: step.state.name, detail, failed: step.failed === true });
    }
    for (const effect of step.effects) this.run(effect);
  }

  private run(effect: Effect): void {
    switch (effect.type) {
      case 'launch':
        this.queue.run(() => this.launch());
        return;
      case 'halt':
        this.queue.run(() => this.halt());
        return;
      case 'release': {
        const waiters = [...this.waiters];
        this.waiters.clear();
        for (const waiter of waiters) waiter.resolve();
        return;
      }
      case 'reject': {
        const held = this.waiters.size;
        const connecting = this.traffic.connecting - held;
        const closing = [held > 0 ? `${held} held` : '', connecting > 0 ? `${connecting} connecting` : ''].filter((part) => part !== '').join(' and ');
        this.logger.error(effect.reason + (closing === '' ? '' : ` (closing ${closing} connection(s))`));
        this.rejectWaiters(effect.reason);
        this.traffic.abortConnecting();
        return;
      }
      case 'armStartTimer': {
        const after = formatDuration(this.currentSettings.startTimeoutMs);
        this.startTimer = this.deps.clock.setTimer(this.currentSettings.startTimeoutMs, () => {
          this.startTimer = null;
          this.dispatch({ type: 'startTimedOut', after });
        });
        return;
      }
      case 'disarmStartTimer':
        this.startTimer?.cancel();
        this.startTimer = null;
        return;
      case 'startIdleClock':
        this.traffic.touch();
        this.scheduleIdleCheck();
        return;
      case 'stopIdleClock':
        this.idleTimer?.cancel();
        this.idleTimer = null;
        return;
      case 'cutConnections': {
        const cut = this.traffic.cutAll();
        if (cut > 0) this.logger.info(`closing ${cut} open connection(s): ${effect.reason}`);
        return;
      }
      case 'then':
        this.dispatch(effect.event);
        return;
    }
  }

  private rejectWaiters(reason: string): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    const error = new WakeError(reason);
    for (const waiter of waiters) waiter.reject(error);
  }

  private scheduleIdleCheck(): void {
    this.idleTimer?.cancel();
    const due = this.traffic.lastActivity + this.currentSettings.idleMs - this.deps.clock.now();
    this.idleTimer = this.deps.clock.setTimer(due, () => {
      this.idleTimer = null;
      this.idleCheck();
    });
  }

  private idleCheck(): void {
    if (this.machine.name !== 'Running') return;
    const { traffic } = this;
    // A connection still being connected is about to carry traffic; open ones count only when asked.
    const busy = traffic.connecting > 0 || (this.currentSettings.connectionsKeepAwake && traffic.open > 0);
    if (busy) traffic.touch();
    if (busy || this.deps.clock.now() - traffic.lastActivity < this.currentSettings.idleMs) {
      this.scheduleIdleCheck();
      return;
    }
    this.dispatch({ type: 'idleElapsed', reason: `no traffic for ${formatDuration(this.currentSettings.idleMs)}` });
  }

  /** Re-reads the members; coalesced, so a burst of runtime events costs one reading. */
  private refresh(reason: string): void {
    if (this.closed) return;
    this.queue.coalesce('refresh', async () => {
      try {
        const members = await this.readMembers();
        this.logger.trace(`read ${members.length} member(s) after ${reason}`);
        this.dispatch({ type: 'observed', readiness: assessReadiness(members, this.currentSettings) });
      } catch (error) {
        if (!this.closed) this.logger.warn(`cannot read the group's members through ${this.deps.runtime.endpoint}: ${describeError(error)}`);
      }
    });
  }

  private async readMembers(): Promise<readonly Member[]> {
    this.members = await this.deps.runtime.members(this.name, this.lifetime.signal);
    return this.members;
  }

  private async launch(): Promise<void> {
    const { runtime } = this.deps;
    let members: readonly Member[];
    try {
      members = await this.readMembers();
    } catch (error) {
      this.dispatch({ type: 'launchFailed', reason: `cannot list the group's members through ${runtime.endpoint}: ${describeError(error)}`, rollback: false });
      return;
    }
    if (members.length === 0) {
      this.dispatch({ type: 'launchFailed', reason: `the group has no members yet: no ${runtime.describeGroup(this.name)} exist yet`, rollback: false });
      return;
    }
    const asleep = members.filter((m) => !isUp(m));
    this.logger.debug(`waking ${asleep.map((m) => m.name).join(', ') || 'nothing (every member is already up)'}`);
    const failures = await failuresOf(asleep, (m) => m.name, (m) => runtime.wake(m, this.lifetime.signal));
    let after: readonly Member[] | null = null;
    try {
      after = await this.readMembers();
    } catch (error) {
      failures.push(`cannot read the members after starting them: ${describeError(error)}`);
    }
    if (failures.length > 0 || after === null) {
      this.dispatch({ type: 'launchFailed', reason: `could not start ${failures.join('; ')}`, rollback: after === null || after.some(isUp) });
      return;
    }
    this.dispatch({ type: 'launched', readiness: assessReadiness(after, this.currentSettings) });
  }

  private async halt(): Promise<void> {
    const { runtime } = this.deps;
    let error: string | null = null;
    try {
      const members = await this.readMembers();
      const awake = members.filter((m) => m.phase !== 'stopped');
      this.logger.debug(`stopping ${awake.map((m) => m.name).join(', ') || 'nothing (every member already stopped)'}`);
      const options = { mode: 'stop', timeoutSeconds: this.currentSettings.stopTimeoutSeconds } as const;
      const failures = await failuresOf(awake, (m) => m.name, (m) => runtime.sleep(m, options, this.lifetime.signal));
      if (failures.length > 0) error = `could not stop ${failures.join('; ')}`;
    } catch (cause) {
      error = `cannot list the group's members through ${runtime.endpoint}: ${describeError(cause)}`;
    }
    this.dispatch({ type: 'stopped', error, waiting: this.waiters.size });
    if (error !== null) this.refresh('failed stop');
  }
}
