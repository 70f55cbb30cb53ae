import { ByteWindow } from './byte-window.js';
import { type Clock, type Timer } from './clock.js';
import { formatDuration } from './duration.js';
import { describeError } from './errors.js';
import { failuresOf } from './failures.js';
import { type Effect, type GroupStateName, INITIAL_STATE, type MachineEvent, type MachineState, transition } from './group-machine.js';
import type { Logger } from './logger.js';
import { assessReadiness, type Readiness } from './readiness.js';
import { isUp, type Member, type Runtime, type SleepMode } from './runtime.js';
import { SerialQueue } from './serial-queue.js';
import { dependencyState, describeWait, planStart, type StartPlan, type StartProblem } from './start-order.js';
import { ThrottledReport } from './throttled-report.js';
import { type ConnectionTracker, Traffic } from './traffic.js';
import type { AddressList } from './address-list.js';
import type { WakeOn } from './wake-on.js';

export type { ConnectionTracker } from './traffic.js';

/** How a group sleeps: stop, or pause and then (optionally) stop after `stopAfterMs` more without use. */
export interface SleepPlan {
  readonly mode: SleepMode;
  /** With pause: stop after this long paused; null never stops. */
  readonly stopAfterMs: number | null;
}

export interface GroupSettings {
  /** How long without traffic before the group sleeps. */
  readonly idleMs: number;
  /** Fewer bytes than this (both ways, all connections) in the last idle period count as idle; 0: any byte is activity. */
  readonly idleThresholdBytes: number;
  /** Wait for health checks to report healthy before forwarding. */
  readonly health: boolean;
  /** How long a wake may take, from the first start call to every member ready. */
  readonly startTimeoutMs: number;
  /** Passed to the runtime's stop; undefined leaves the member's own default. */
  readonly stopTimeoutSeconds: number | undefined;
  /** Open connections keep the group awake even when no bytes move. */
  readonly connectionsKeepAwake: boolean;
  readonly sleep: SleepPlan;
  /** What wakes the group while it sleeps: any connection, or one that sent `wakeMinBytes`. */
  readonly wakeOn: WakeOn;
  readonly wakeMinBytes: number;
  /** While it sleeps, only clients from these networks may wake it; null: any client. */
  readonly wakeFrom: AddressList | null;
  /** Only clients from these networks are served at all; null: any client. */
  readonly allowFrom: AddressList | null;
}

/** The wake rules of a group that has none: any connection from anywhere wakes it. */
export const OPEN_WAKE_RULES = { wakeOn: 'connect', wakeMinBytes: 1, wakeFrom: null, allowFrom: null } as const satisfies Partial<GroupSettings>;

/** Other proxies, as far as they can be asked: another process may manage a group this one shares a member with. */
export interface Peers {
  /** Whether the proxy managing `group` has it awake (Starting or Running); null when no other proxy manages it. */
  isAwake(group: string, signal: AbortSignal): Promise<boolean | null>;
}

export interface GroupDeps {
  readonly runtime: Runtime;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly peers?: Peers | undefined;
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
  /** How an Idle group sleeps now: its members paused or stopped; null unless Idle. */
  readonly sleeping: SleepMode | null;
  readonly settings: GroupSettings;
  /** Members as last read from the runtime; null before the first reading. */
  readonly members: readonly Member[] | null;
  /** Member names in start order, one list per step (a step's members start together). */
  readonly startOrder: readonly (readonly string[])[];
  /** What the members declare that could not be followed (a dependency naming nothing, a cycle). */
  readonly problems: readonly StartProblem[];
  /** Failed wakes in a row, and how long until the next may begin (null: at once). */
  readonly backoff: { readonly failures: number; readonly msUntilRetry: number | null };
  /** While Starting: what the wake is waiting for. */
  readonly waitingFor: string | null;
  readonly held: number;
  readonly connecting: number;
  readonly open: number;
  /** Where the open connections come from, where the listener said (`203.0.113.7:51234`). */
  readonly peers: readonly string[];
  /** Connections since the group was created. */
  readonly accepted: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** With a byte threshold: bytes moved in the last idle period. */
  readonly bytesInIdleWindow: number | null;
  /** Since the last connection, byte or wake; null when there has been none. */
  readonly msSinceActivity: number | null;
  /** When Running: milliseconds until the idle stop if nothing happens. */
  readonly msUntilSleep: number | null;
  /** Connections closed by the wake rules since the group was created, by rule. */
  readonly turnedAway: Readonly<Record<TurnedAway, number>>;
}

/** Why the wake rules closed a connection: outside --allow-from, outside --wake-from while asleep, or too quiet for --wake-on data. */
export type TurnedAway = 'notAllowed' | 'outsideWakeFrom' | 'silent';

/** What a wake is still waiting for, once its start calls returned or while an ordered start waits. */
function pendingDetail(state: MachineState): string | null {
  if (state.name !== 'Starting') return null;
  if (state.waitingFor !== null) return state.waitingFor;
  return state.launched && state.last?.kind === 'pending' ? state.last.detail : null;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

const SHUTTING_DOWN = 'proxytainer is shutting down';
/** While an ordered start waits on a member, it reads again at least this often: a member outside the group sends no events here. */
const ORDERED_START_POLL_MS = 500;
/** At most one line about connections refused during a backoff, this often. */
const REFUSAL_LOG_MS = 5_000;

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
  private readonly changeWaiters = new Set<() => void>();
  private readonly lifetime = new AbortController();
  private readonly logger: Logger;
  private readonly traffic: Traffic;
  private readonly turnedAwayCounts: Record<TurnedAway, number> = { notAllowed: 0, outsideWakeFrom: 0, silent: 0 };
  private readonly queue: SerialQueue;
  private members: readonly Member[] | null = null;
  private plan: StartPlan = { edges: [], layers: [], problems: [] };
  private reportedProblems = new Set<string>();
  /** Members this wake unpaused: their health reading is stale until the next check. */
  private unpaused: ReadonlySet<string> = new Set();
  private startTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  private ladderTimer: Timer | null = null;
  /** When the group last began to run: a byte threshold judges only whole idle periods. */
  private runningSince = 0;
  /** Connections closed without waking during a backoff: one line at once, then the count at most every few seconds, and at close. */
  private readonly refusals: ThrottledReport;
  /** The backoff the latest refusal met. */
  private lastRefusal: { readonly failures: number; readonly until: number | null } = { failures: 0, until: null };
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    private currentSettings: GroupSettings,
    private readonly deps: GroupDeps,
  ) {
    this.logger = deps.logger.child(name);
    // Said as of the line, not of the last refusal: a count logged seconds later says how long is left then.
    this.refusals = new ThrottledReport(deps.clock, REFUSAL_LOG_MS, (count) => {
      const { failures, until } = this.lastRefusal;
      const left = until === null ? 0 : until - deps.clock.now();
      const next = left > 0 ? `the next may begin in ${formatDuration(left)}` : 'the next may begin now';
      this.logger.warn(`closed ${count} connection(s) without waking: ${failures} wakes failed in a row; ${next}`);
    });
    this.traffic = new Traffic(deps.clock, {
      established: () => {
        this.reached();
      },
      transfer: () => {
        this.dispatch({ type: 'wake', reason: 'traffic on a connection left open while paused' });
      },
    });
    this.applyWindow();
    this.queue = new SerialQueue((error) => {
      if (!this.closed) this.logger.error(`internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    });
  }

  get state(): GroupStateName {
    return this.machine.name;
  }

  /** Asleep, or on its way there: a connection now would start a wake (what --wake-from guards). */
  get asleep(): boolean {
    return this.machine.name === 'Idle' || this.machine.name === 'Stopping';
  }

  get settings(): GroupSettings {
    return this.currentSettings;
  }

  /** Follows the runtime's changes and reads the members once, so a group already up starts Running. */
  watch(): void {
    this.unsubscribe ??= this.deps.runtime.subscribe((change) => {
      for (const wake of [...this.changeWaiters]) wake();
      if (change.group === null || change.group === this.name) this.refresh(change.reason);
    });
    this.refresh('startup');
  }

  /** Settings can change while the group lives (labels in discovery mode); they apply from the next use. */
  updateSettings(settings: GroupSettings): void {
    const windowChanged = settings.idleMs !== this.currentSettings.idleMs || settings.idleThresholdBytes !== this.currentSettings.idleThresholdBytes;
    this.currentSettings = settings;
    if (windowChanged) this.applyWindow();
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
   * the wake this call starts. `force` (the wake command) goes past a backoff
   * after failed wakes. A cancel function rather than an AbortSignal: a held
   * connection costs a closure, not an AbortController (about 1 KB each, which
   * adds up when ten thousand connections wait for one wake).
   */
  hold(reason: string, options: { readonly force?: boolean } = {}): Hold {
    if (this.closed) return { promise: Promise.reject(new WakeError(SHUTTING_DOWN)), cancel: () => undefined };
    if (this.machine.name === 'Running') return { promise: Promise.resolve(), cancel: () => undefined };
    let waiter: Waiter | undefined;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    const held = waiter as Waiter;
    this.waiters.add(held);
    this.dispatch({ type: 'wake', reason, force: options.force === true });
    return {
      promise,
      cancel: (error) => {
        if (this.waiters.delete(held)) held.reject(error);
      },
    };
  }

  /**
   * Puts the group to sleep now, its own way, as an idle stop would. Resolves
   * once it is Idle, with what the sleep that put it there failed to do, or null.
   */
  sleep(reason: string): Promise<string | null> {
    this.dispatch({ type: 'sleep', reason, mode: this.currentSettings.sleep.mode });
    if (this.machine.name !== 'Stopping') return Promise.resolve(null);
    return new Promise((resolve) => this.sleepers.push(resolve));
  }

  /**
   * A client's traffic reached the upstream: the wake has proven itself, and a
   * member going down from now on is a change made outside, not a failed wake.
   */
  reached(): void {
    if (this.machine.name === 'Running' && this.machine.settling) this.dispatch({ type: 'reached' });
  }

  /** Counts as activity: the idle clock starts again. */
  touch(): void {
    this.traffic.touch();
  }

  /**
   * Registers a new client connection; it counts as activity and keeps the
   * group from stopping until it is spliced or gone. `abort` closes it, while
   * it is not yet spliced, when the wake it waits for fails. `peer` says where
   * it comes from (`203.0.113.7:51234`) when `status` asks: reading a socket's
   * peer is a system call, too dear to make for every connection.
   */
  track(abort: () => void, peer?: () => string): ConnectionTracker {
    return this.traffic.track(abort, peer);
  }

  /** A connection the wake rules closed unserved: counted for `status`, and not activity. */
  turnedAway(why: TurnedAway): void {
    this.turnedAwayCounts[why]++;
  }

  snapshot(): GroupSnapshot {
    const now = this.deps.clock.now();
    const { traffic, machine } = this;
    const msSinceActivity = now - traffic.lastActivity;
    const names = new Map((this.members ?? []).map((m) => [m.id, m.name]));
    const { backoff } = machine;
    return {
      name: this.name,
      state: machine.name,
      sleeping: machine.name === 'Idle' ? (machine.paused ? 'pause' : 'stop') : null,
      settings: this.currentSettings,
      members: this.members,
      startOrder: this.plan.layers.map((layer) => layer.map((id) => names.get(id) ?? id)),
      problems: this.plan.problems,
      backoff: { failures: backoff.failures, msUntilRetry: backoff.until === null || backoff.until <= now ? null : backoff.until - now },
      waitingFor: pendingDetail(machine),
      held: this.waiters.size,
      connecting: traffic.connecting,
      open: traffic.open,
      peers: traffic.peers(),
      accepted: traffic.accepted,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      bytesInIdleWindow: traffic.window?.sum(now) ?? null,
      msSinceActivity: traffic.active ? msSinceActivity : null,
      msUntilSleep: machine.name === 'Running' ? Math.max(0, this.currentSettings.idleMs - msSinceActivity) : null,
      turnedAway: { ...this.turnedAwayCounts },
    };
  }

  /** Teardown: stop following the runtime, abort runtime calls in flight, let what waits go. Members are left as they are. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const timer of [this.startTimer, this.idleTimer, this.ladderTimer]) timer?.cancel();
    this.lifetime.abort(new WakeError(SHUTTING_DOWN));
    this.rejectWaiters(SHUTTING_DOWN);
    this.refusals.close();
    for (const sleeper of this.sleepers.splice(0)) sleeper(SHUTTING_DOWN);
    for (const wake of [...this.changeWaiters]) wake();
    await this.queue.drained();
  }

  private applyWindow(): void {
    const { idleThresholdBytes, idleMs } = this.currentSettings;
    this.traffic.window = idleThresholdBytes > 0 ? new ByteWindow(idleMs) : null;
  }

  private dispatch(event: MachineEvent): void {
    if (this.closed) return;
    const before = this.machine;
    const step = transition(before, event, this.deps.clock.now());
    this.machine = step.state;
    const changed = step.state.name !== before.name;
    if (changed) this.logger.info(`State change (${before.name} => ${step.state.name})${step.reason === '' ? '' : `: ${step.reason}`}`);
    if (event.type === 'stopped') for (const sleeper of this.sleepers.splice(0)) sleeper(event.error);
    if (step.state.name !== 'Starting') this.unpaused = new Set();
    // A paused group wakes for bytes on a connection it left open.
    this.traffic.wakeOnTransfer = step.state.name === 'Idle' && step.state.paused;
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
        this.queue.run(() => this.halt(effect.mode));
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
      case 'refuse': {
        const refused = this.waiters.size;
        this.lastRefusal = this.machine.backoff;
        this.rejectWaiters(effect.reason);
        if (refused > 0) this.refusals.add(refused);
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
        this.runningSince = this.deps.clock.now();
        this.scheduleIdleCheck();
        return;
      case 'stopIdleClock':
        this.idleTimer?.cancel();
        this.idleTimer = null;
        return;
      case 'armLadder': {
        const after = this.currentSettings.sleep.stopAfterMs;
        if (after === null) return;
        this.ladderTimer = this.deps.clock.setTimer(after, () => {
          this.ladderTimer = null;
          this.dispatch({ type: 'ladderElapsed', reason: `paused for ${formatDuration(after)} without traffic` });
        });
        return;
      }
      case 'disarmLadder':
        this.ladderTimer?.cancel();
        this.ladderTimer = null;
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
    const now = this.deps.clock.now();
    const { window } = this.traffic;
    // Silence: the check is due an idle period after the last activity. A byte threshold: at each slot of the window.
    const due = window === null ? this.traffic.lastActivity + this.currentSettings.idleMs : window.nextSlotAt(now);
    this.idleTimer = this.deps.clock.setTimer(due - now, () => {
      this.idleTimer = null;
      this.idleCheck();
    });
  }

  private idleCheck(): void {
    if (this.machine.name !== 'Running') return;
    const { traffic, currentSettings: settings } = this;
    const now = this.deps.clock.now();
    // A connection still being connected is about to carry traffic; open ones count only when asked.
    const busy = traffic.connecting > 0 || (settings.connectionsKeepAwake && traffic.open > 0);
    if (busy) traffic.touch();
    let idle: boolean;
    let why: string;
    if (traffic.window === null) {
      idle = !busy && now - traffic.lastActivity >= settings.idleMs;
      why = `no traffic for ${formatDuration(settings.idleMs)}`;
    } else {
      const moved = traffic.window.sum(now);
      idle = !busy && now - this.runningSince >= settings.idleMs && moved < settings.idleThresholdBytes;
      why = `${moved} bytes moved in the last ${formatDuration(settings.idleMs)}, fewer than the threshold of ${settings.idleThresholdBytes}`;
    }
    if (!idle) {
      this.scheduleIdleCheck();
      return;
    }
    this.dispatch({ type: 'idleElapsed', reason: why, mode: settings.sleep.mode });
  }

  /** Re-reads the members; coalesced, so a burst of runtime events costs one reading. */
  private refresh(reason: string): void {
    if (this.closed) return;
    this.queue.coalesce('refresh', async () => {
      try {
        const members = await this.readMembers();
        this.logger.trace(`read ${members.length} member(s) after ${reason}`);
        this.dispatch({ type: 'observed', readiness: this.assess(members) });
      } catch (error) {
        if (!this.closed) this.logger.warn(`cannot read the group's members through ${this.deps.runtime.endpoint}: ${describeError(error)}`);
      }
    });
  }

  private assess(members: readonly Member[]): Readiness {
    return assessReadiness(members, { health: this.currentSettings.health, trusted: this.unpaused });
  }

  private async readMembers(): Promise<readonly Member[]> {
    const members = await this.deps.runtime.members(this.name, this.lifetime.signal);
    this.members = members;
    this.plan = planStart(members);
    const messages = this.plan.problems.map((p) => p.message);
    for (const message of messages) {
      if (!this.reportedProblems.has(message)) this.logger.warn(`label problem: ${message}`);
    }
    this.reportedProblems = new Set(messages);
    return members;
  }

  /** Resolves at the next change the runtime reports, for any group, or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.changeWaiters.delete(done);
        timer.cancel();
        resolve();
      };
      const timer = this.deps.clock.setTimer(ms, done);
      this.changeWaiters.add(done);
    });
  }

  /**
   * Wakes the members in dependency order: each starts as soon as what it
   * depends on meets its condition; members that do not wait on each other
   * start together. What the start waits for is reported as it goes.
   */
  private async launch(): Promise<void> {
    const { runtime } = this.deps;
    const fail = (reason: string, members: readonly Member[] | null): void => {
      this.dispatch({ type: 'launchFailed', reason, rollback: members === null || members.some(isUp) });
    };
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
    this.unpaused = new Set(members.filter((m) => m.phase === 'paused').map((m) => m.id));
    const upAtStart = new Set(members.filter(isUp).map((m) => m.id));
    const woken = new Set<string>();
    for (;;) {
      if (this.machine.name !== 'Starting' || this.closed) return; // timed out, put to sleep or closed meanwhile
      const byId = new Map(members.map((m) => [m.id, m]));
      const startable: Member[] = [];
      let waitingFor: string | null = null;
      for (const member of this.plan.layers.flat().map((id) => byId.get(id)).filter((m) => m !== undefined)) {
        if (woken.has(member.id) || isUp(member)) continue;
        let blocked = false;
        for (const edge of this.plan.edges.filter((e) => e.from === member.id)) {
          const target = byId.get(edge.to);
          if (target === undefined) continue;
          const state = dependencyState(edge, target, woken.has(target.id) || upAtStart.has(target.id));
          if (state === 'waiting') {
            blocked = true;
            waitingFor ??= `${member.name} is ${describeWait(target, edge.condition)}`;
          } else if (state !== 'met') {
            fail(`${member.name} cannot start: ${state.failed}`, members);
            return;
          }
        }
        if (!blocked) startable.push(member);
      }
      if (startable.length === 0 && waitingFor === null) break;
      try {
        if (startable.length > 0) {
          this.logger.debug(`waking ${startable.map((m) => m.name).join(', ')}`);
          const failures = await failuresOf(startable, (m) => m.name, (m) => runtime.wake(m, this.lifetime.signal));
          for (const member of startable) woken.add(member.id);
          if (failures.length > 0) {
            fail(`could not start ${failures.join('; ')}`, null);
            return;
          }
        } else if (waitingFor !== null) {
          this.dispatch({ type: 'waiting', detail: waitingFor });
          await this.nextChange(ORDERED_START_POLL_MS);
        }
        members = await this.readMembers();
      } catch (error) {
        fail(`cannot read the members after starting them: ${describeError(error)}`, null);
        return;
      }
    }
    if (woken.size === 0) this.logger.debug('waking nothing: every member is already up');
    this.dispatch({ type: 'launched', readiness: this.assess(members) });
  }

  /**
   * The other group that still uses `member`, if one does. A group another
   * proxy manages is as awake as that proxy says (its lifecycle is the
   * truth); otherwise the runtime's state decides: a group is awake while a
   * member of its own, one this group does not use, is up. Never this
   * process's memory, so proxies in other processes are seen as they are.
   */
  private async usedElsewhere(member: Member, checked: Map<string, boolean>): Promise<string | null> {
    const { signal } = this.lifetime;
    for (const other of member.groups.filter((g) => g !== this.name)) {
      let awake = checked.get(other);
      if (awake === undefined) {
        awake = (await this.deps.peers?.isAwake(other, signal)) ?? (await this.deps.runtime.members(other, signal)).some((m) => isUp(m) && !m.groups.includes(this.name));
        checked.set(other, awake);
      }
      if (awake) return other;
    }
    return null;
  }

  /** Puts the members to sleep, dependents before what they depend on; shared members only when no other group uses them. */
  private async halt(mode: SleepMode): Promise<void> {
    const { runtime } = this.deps;
    let error: string | null = null;
    const verb = mode === 'pause' ? 'pause' : 'stop';
    try {
      const members = await this.readMembers();
      const byId = new Map(members.map((m) => [m.id, m]));
      const checked = new Map<string, boolean>();
      const options = { mode, timeoutSeconds: this.currentSettings.stopTimeoutSeconds } as const;
      const failures: string[] = [];
      for (const layer of [...this.plan.layers].reverse()) {
        const asleep: Member[] = [];
        for (const member of layer.map((id) => byId.get(id)).filter((m) => m !== undefined)) {
          if (mode === 'pause' ? !isUp(member) : member.phase === 'stopped') continue;
          const user = await this.usedElsewhere(member, checked);
          if (user !== null) this.logger.debug(`leaving ${member.name} up: group ${user} uses it`);
          else asleep.push(member);
        }
        if (asleep.length === 0) continue;
        this.logger.debug(`${mode === 'pause' ? 'pausing' : 'stopping'} ${asleep.map((m) => m.name).join(', ')}`);
        failures.push(...(await failuresOf(asleep, (m) => m.name, (m) => runtime.sleep(m, options, this.lifetime.signal))));
      }
      if (failures.length > 0) error = `could not ${verb} ${failures.join('; ')}`;
    } catch (cause) {
      error = `cannot read the group's members through ${runtime.endpoint}: ${describeError(cause)}`;
    }
    this.dispatch({ type: 'stopped', mode, error, waiting: this.waiters.size });
    if (error !== null) this.refresh('failed stop');
  }
}
