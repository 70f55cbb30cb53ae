import { type Clock, type Timer } from './clock.js';
import { formatDuration } from './duration.js';
import { describeError } from './errors.js';
import { type Effect, type GroupStateName, INITIAL_STATE, type MachineEvent, type MachineState, transition } from './group-machine.js';
import type { Logger } from './logger.js';
import { assessReadiness } from './readiness.js';
import type { Member, Runtime } from './runtime.js';

export interface GroupSettings {
  /** How long without traffic before the group is stopped. */
  readonly idleMs: number;
  /** Wait for Docker healthchecks to report healthy before forwarding. */
  readonly health: boolean;
  /** How long a wake may take, from the first start call to every member ready. */
  readonly startTimeoutMs: number;
  /** Passed to the runtime's stop; undefined leaves the container's own default. */
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

/** The group's accounting of one client connection; every method is cheap and idempotent where it matters. */
export interface ConnectionTracker {
  /** The connection is spliced to its upstream; `cut` closes it when the group stops. */
  established(cut: () => void): void;
  /** Bytes moved: `in` from the client towards the upstream, `out` back. */
  transferred(direction: 'in' | 'out', bytes: number): void;
  closed(): void;
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
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Since the last connection, byte or wake; null when there has been none. */
  readonly msSinceActivity: number | null;
  /** When Running: milliseconds until the idle stop if nothing happens. */
  readonly msUntilSleep: number | null;
}

/** A group's connections and activity, shared with each connection's tracker. */
class Traffic {
  connecting = 0;
  bytesIn = 0;
  bytesOut = 0;
  lastActivity: number;
  /** Whether anything happened since the group was created, for status (the idle clock starts at creation regardless). */
  active = false;
  /** How to close each open connection when the group stops. */
  readonly cuts = new Set<() => void>();

  constructor(private readonly clock: Clock) {
    this.lastActivity = clock.now();
  }

  touch(): void {
    this.lastActivity = this.clock.now();
    this.active = true;
  }
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** One connection's accounting: a plain object with its methods on the prototype, as there may be ten thousand. */
class Tracker implements ConnectionTracker {
  private phase = CONNECTING;
  private cut: (() => void) | null = null;

  constructor(private readonly traffic: Traffic) {
    traffic.connecting++;
    traffic.touch();
  }

  established(cut: () => void): void {
    if (this.phase !== CONNECTING) return;
    this.phase = OPEN;
    this.traffic.connecting--;
    this.cut = cut;
    this.traffic.cuts.add(cut);
    this.traffic.touch();
  }

  transferred(direction: 'in' | 'out', bytes: number): void {
    if (direction === 'in') this.traffic.bytesIn += bytes;
    else this.traffic.bytesOut += bytes;
    this.traffic.touch();
  }

  closed(): void {
    if (this.phase === CONNECTING) this.traffic.connecting--;
    if (this.cut !== null) this.traffic.cuts.delete(this.cut);
    if (this.phase !== CLOSED) this.traffic.touch();
    this.phase = CLOSED;
  }
}

/** What a wake whose start calls have returned is still waiting for. */
function pendingDetail(state: MachineState): string | null {
  return state.name === 'Starting' && state.launched && state.last?.kind === 'pending' ? state.last.detail : null;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * One container group: runs the lifecycle machine, holds the connections that
 * wait for it, and keeps the idle clock. Docker calls go through a queue, one
 * at a time, so a start and a stop of the same group never overlap.
 */
export class Group {
  private machine: MachineState = INITIAL_STATE;
  private readonly waiters = new Set<Waiter>();
  private readonly stateListeners = new Set<(state: GroupStateName) => void>();
  private readonly progressListeners = new Set<(state: GroupStateName, detail: string) => void>();
  private readonly lifetime = new AbortController();
  private readonly logger: Logger;
  private readonly traffic: Traffic;
  private members: readonly Member[] | null = null;
  private startTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  private ops: Promise<void> = Promise.resolve();
  private refreshQueued = false;
  private lastStopError: string | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    private currentSettings: GroupSettings,
    private readonly deps: GroupDeps,
  ) {
    this.logger = deps.logger.child(name);
    this.traffic = new Traffic(deps.clock);
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

  onStateChange(listener: (state: GroupStateName) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Every state change with its reason, and what a wake is still waiting for, for `wake`'s progress display. */
  onProgress(listener: (state: GroupStateName, detail: string) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Resolves once the Docker calls queued so far (the first reading after `watch`, a stop) are done. */
  async settled(): Promise<void> {
    await this.ops;
  }

  /**
   * Resolves once the group is Running, waking it if needed. Rejects with a
   * WakeError when the wake fails, or with the signal's reason when aborted.
   */
  acquire(reason: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const held = this.hold(reason);
    if (signal !== undefined) {
      const onAbort = (): void => {
        held.cancel(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      void held.promise.then(
        () => {
          signal.removeEventListener('abort', onAbort);
        },
        () => {
          signal.removeEventListener('abort', onAbort);
        },
      );
    }
    return held.promise;
  }

  /**
   * Like acquire, with a cancel function instead of an AbortSignal: a held
   * connection costs a closure, not an AbortController (about 1 KB each,
   * which adds up when ten thousand connections wait for one wake).
   */
  hold(reason: string): { readonly promise: Promise<void>; readonly cancel: (error: Error) => void } {
    if (this.closed) return { promise: Promise.reject(new WakeError('proxytainer is shutting down')), cancel: () => undefined };
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

  /** Puts the group to sleep now, as an idle stop would; resolves when it is Idle, with what failed to stop, if anything. */
  async sleep(reason: string): Promise<string | null> {
    this.dispatch({ type: 'sleep', reason });
    if (this.machine.name !== 'Stopping') return null;
    await new Promise<void>((resolve) => {
      const off = this.onStateChange((state) => {
        if (state !== 'Stopping') {
          off();
          resolve();
        }
      });
    });
    return this.lastStopError;
  }

  /** Counts as activity: the idle clock starts again. */
  touch(): void {
    this.traffic.touch();
  }

  /** Registers a new client connection; it counts as activity and keeps the group from stopping until it is spliced or gone. */
  track(): ConnectionTracker {
    return new Tracker(this.traffic);
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
      open: traffic.cuts.size,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      msSinceActivity: traffic.active ? msSinceActivity : null,
      msUntilSleep: this.machine.name === 'Running' ? Math.max(0, this.currentSettings.idleMs - msSinceActivity) : null,
    };
  }

  /** Teardown: stop following the runtime, abort Docker calls in flight, let held connections go. Containers are left as they are. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.startTimer?.cancel();
    this.idleTimer?.cancel();
    this.lifetime.abort(new WakeError('proxytainer is shutting down'));
    this.rejectWaiters('proxytainer is shutting down');
    await this.ops;
  }

  private dispatch(event: MachineEvent): void {
    if (this.closed) return;
    const before = this.machine;
    const step = transition(before, event);
    this.machine = step.state;
    const changed = step.state.name !== before.name;
    if (changed) {
      if (step.state.name === 'Running') this.touch();
      this.logger.info(`State change (${before.name} => ${step.state.name})${step.reason === '' ? '' : `: ${step.reason}`}`);
    }
    for (const effect of step.effects) this.run(effect);
    const waitingFor = pendingDetail(step.state);
    const waitedFor = pendingDetail(before);
    if (changed || waitingFor !== waitedFor) {
      const detail = changed ? step.reason : (waitingFor ?? '');
      for (const listener of this.progressListeners) listener(step.state.name, detail);
    }
    if (!changed) return;
    for (const listener of this.stateListeners) listener(step.state.name);
    if (step.state.name === 'Idle' && this.waiters.size > 0) {
      this.dispatch({ type: 'wake', reason: `${this.waiters.size} connection(s) waited for the stop` });
    }
  }

  private run(effect: Effect): void {
    switch (effect.type) {
      case 'launch':
        this.enqueue(() => this.launch());
        return;
      case 'halt':
        this.enqueue(() => this.halt());
        return;
      case 'release': {
        const waiters = [...this.waiters];
        this.waiters.clear();
        for (const waiter of waiters) waiter.resolve();
        return;
      }
      case 'reject':
        this.logger.error(effect.reason + (this.waiters.size > 0 ? ` (closing ${this.waiters.size} held connection(s))` : ''));
        this.rejectWaiters(effect.reason);
        return;
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
      case 'armIdleTimer':
        this.scheduleIdleCheck();
        return;
      case 'disarmIdleTimer':
        this.idleTimer?.cancel();
        this.idleTimer = null;
        return;
      case 'cutConnections': {
        const cuts = [...this.traffic.cuts];
        this.traffic.cuts.clear();
        if (cuts.length > 0) this.logger.info(`closing ${cuts.length} open connection(s): ${effect.reason}`);
        for (const cut of cuts) cut();
        return;
      }
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
    const busy = traffic.connecting > 0 || (this.currentSettings.connectionsKeepAwake && traffic.cuts.size > 0);
    if (busy) traffic.touch();
    if (busy || this.deps.clock.now() - traffic.lastActivity < this.currentSettings.idleMs) {
      this.scheduleIdleCheck();
      return;
    }
    this.dispatch({ type: 'idleElapsed', reason: `no traffic for ${formatDuration(this.currentSettings.idleMs)}` });
  }

  /** Re-reads the members; coalesced, so a burst of runtime events costs one reading. */
  private refresh(reason: string): void {
    if (this.refreshQueued || this.closed) return;
    this.refreshQueued = true;
    this.enqueue(async () => {
      this.refreshQueued = false;
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
    const asleep = members.filter((m) => m.state !== 'running' && m.state !== 'restarting');
    this.logger.debug(`starting ${asleep.map((m) => m.name).join(', ') || 'nothing (every member already runs)'}`);
    const results = await Promise.allSettled(asleep.map((m) => runtime.start(m, this.lifetime.signal)));
    const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [`${asleep[i]?.name ?? '?'}: ${describeError(result.reason)}`] : []));
    let after: readonly Member[] | null = null;
    try {
      after = await this.readMembers();
    } catch (error) {
      failures.push(`cannot read the members after starting them: ${describeError(error)}`);
    }
    if (failures.length > 0 || after === null) {
      this.dispatch({
        type: 'launchFailed',
        reason: `could not start ${failures.join('; ')}`,
        rollback: after === null || after.some((m) => m.state === 'running'),
      });
      return;
    }
    this.dispatch({ type: 'launched', readiness: assessReadiness(after, this.currentSettings) });
  }

  private async halt(): Promise<void> {
    const { runtime } = this.deps;
    let error: string | null = null;
    try {
      const members = await this.readMembers();
      const awake = members.filter((m) => m.state === 'running' || m.state === 'restarting' || m.state === 'paused');
      this.logger.debug(`stopping ${awake.map((m) => m.name).join(', ') || 'nothing (every member already stopped)'}`);
      const options = { timeoutSeconds: this.currentSettings.stopTimeoutSeconds };
      const results = await Promise.allSettled(awake.map((m) => runtime.stop(m, options, this.lifetime.signal)));
      const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [`${awake[i]?.name ?? '?'}: ${describeError(result.reason)}`] : []));
      if (failures.length > 0) error = `could not stop ${failures.join('; ')}`;
    } catch (cause) {
      error = `cannot list the group's members through ${runtime.endpoint}: ${describeError(cause)}`;
    }
    this.lastStopError = error;
    this.dispatch({ type: 'stopped', error });
    if (error !== null) this.refresh('failed stop');
  }

  private enqueue(op: () => Promise<void>): void {
    this.ops = this.ops.then(op).catch((error: unknown) => {
      if (!this.closed) this.logger.error(`internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    });
  }
}
