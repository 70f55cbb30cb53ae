import type { Clock } from './clock.js';
import { formatDuration } from './duration.js';
import type { GroupStateName } from './group-machine.js';
import { type GroupHealth, judgeHealth } from './group-health.js';
import type { Group, Transition } from './group.js';
import type { Logger } from './logger.js';
import { describeWakeCause, type WakeCause, wakeCauseOf } from './wake-cause.js';

/** `starting` while under way; `cancelled`: put to sleep while starting. */
export type WakeOutcome = 'starting' | 'ready' | 'failed' | 'cancelled';

/** One wake, as it happened. Times are the injected clock's (monotonic) milliseconds. */
export interface WakeRecord {
  /** The reason the core gave (`connection from 203.0.113.7:51234 on port 443`). */
  readonly reason: string;
  readonly cause: WakeCause;
  /** `reason` as people read it: the client, `wake command`, `start made outside proxytainer…`. */
  readonly description: string;
  readonly startedAt: number;
  /** When it ended (ready, failed, cancelled); null while starting. */
  readonly endedAt: number | null;
  readonly result: WakeOutcome;
  /** Why it failed or was cancelled. */
  readonly error: string | null;
  /** While starting: what it still waits for (`web is starting (health: starting)`). */
  readonly waitingFor: string | null;
  /** False for a start made outside proxytainer: it was only seen once done, so it has no duration. */
  readonly timed: boolean;
}

/** How the group last went to sleep. */
export interface SleepRecord {
  /** When it reached Idle. */
  readonly at: number;
  /** Why it went: `no traffic for 5m`, `sleep requested (proxytainer sleep)`, `web exited … (changed outside proxytainer)`, `wake failed: …`. */
  readonly reason: string;
  /** How the stop ended, when there was one: `every member stopped`, `stop failed: …`. */
  readonly outcome: string | null;
}

/** A state change, with the wake it starts or ends (Idle → Starting, Starting → anything, a start made outside). */
export interface StateChange {
  readonly group: string;
  readonly from: GroupStateName;
  readonly to: GroupStateName;
  readonly reason: string;
  readonly failed: boolean;
  /** The injected clock's milliseconds. */
  readonly at: number;
  readonly wake: WakeRecord | null;
}

/** A group's history as status reads it: ages in milliseconds before now. */
export interface HistorySnapshot {
  readonly lastWake: (WakeRecord & { readonly msAgo: number; readonly durationMs: number | null }) | null;
  readonly lastSleep: (SleepRecord & { readonly msAgo: number }) | null;
  readonly health: GroupHealth;
}

class Entry {
  lastWake: WakeRecord | null = null;
  /** The last wake that came to ready or failed, for health. */
  lastOutcome: WakeRecord | null = null;
  lastSleep: SleepRecord | null = null;
  /** Why the group left Running or Starting for Stopping, until it reaches Idle. */
  stopping: string | null = null;
}

const FAILED_PREFIX = /^wake failed: /;

/**
 * Remembers, per group, the last wake (who woke it, how long it took, how it
 * ended) and the last sleep, from the groups' transitions alone, and hands
 * every state change on with the wake it belongs to, for metrics and
 * webhooks. It logs how each wake ended and who asked for it.
 */
export class WakeHistory {
  /** Weak: a group discovery removes takes its history with it. */
  private readonly entries = new WeakMap<Group, Entry>();
  private readonly listeners = new Set<(change: StateChange) => void>();
  private readonly stopObserving: () => void;

  constructor(
    proxy: { onGroup(observer: (group: Group) => void): () => void },
    private readonly deps: { readonly clock: Clock; readonly logger: Logger },
  ) {
    this.stopObserving = proxy.onGroup((group) => {
      this.follow(group);
    });
  }

  /** Every state change of every group; returns an unsubscribe function. */
  onChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(group: Group): HistorySnapshot {
    const entry = this.entries.get(group);
    const now = this.deps.clock.now();
    const wake = entry?.lastWake ?? null;
    const sleep = entry?.lastSleep ?? null;
    const outcome = entry?.lastOutcome ?? null;
    return {
      lastWake: wake === null ? null : { ...wake, msAgo: now - wake.startedAt, durationMs: wake.endedAt === null || !wake.timed ? null : wake.endedAt - wake.startedAt },
      lastSleep: sleep === null ? null : { ...sleep, msAgo: now - sleep.at },
      health: judgeHealth({
        state: group.state,
        backingOffForMs: group.snapshot().backoff.msUntilRetry,
        lastOutcome: outcome === null ? null : { result: outcome.result === 'failed' ? 'failed' : 'ready', error: outcome.error, msAgo: now - (outcome.endedAt ?? now) },
      }),
    };
  }

  /** Stops following new groups; the proxy's groups are closed by then (teardown order: proxy, then history). */
  close(): void {
    this.stopObserving();
    this.listeners.clear();
  }

  private follow(group: Group): void {
    if (this.entries.has(group)) return;
    const entry = new Entry();
    group.onTransition((transition) => {
      this.record(group, entry, transition);
    });
    this.entries.set(group, entry);
  }

  private record(group: Group, entry: Entry, { from, to, detail, failed }: Transition): void {
    const at = this.deps.clock.now();
    if (from === to) {
      // While Starting, a change in what the wake waits for.
      if (entry.lastWake?.result === 'starting') entry.lastWake = { ...entry.lastWake, waitingFor: detail === '' ? null : detail };
      return;
    }
    let wake: WakeRecord | null = null;
    if (from === 'Idle' && (to === 'Starting' || to === 'Running')) {
      const cause = wakeCauseOf(detail);
      const outside = to === 'Running';
      wake = {
        reason: detail,
        cause,
        description: describeWakeCause(cause, detail),
        startedAt: at,
        endedAt: outside ? at : null,
        result: outside ? 'ready' : 'starting',
        error: null,
        waitingFor: null,
        timed: !outside,
      };
    } else if (entry.lastWake !== null && (from === 'Starting' || (failed && from === 'Running'))) {
      // A wake ends: ready, failed (a member crashed before any connection got through counts too), or cancelled by a sleep.
      const result: WakeOutcome = to === 'Running' ? 'ready' : failed ? 'failed' : 'cancelled';
      const error = result === 'ready' ? null : detail.replace(FAILED_PREFIX, '');
      wake = { ...entry.lastWake, endedAt: at, result, error, waitingFor: null };
    }
    if (wake !== null) {
      entry.lastWake = wake;
      if (wake.result === 'ready' || wake.result === 'failed') entry.lastOutcome = wake;
      this.logWake(group, wake);
    }
    if (to === 'Stopping') entry.stopping = detail;
    if (to === 'Idle') {
      const stopped = from === 'Stopping';
      entry.lastSleep = { at, reason: stopped ? (entry.stopping ?? detail) : detail, outcome: stopped ? detail : null };
      entry.stopping = null;
    }
    const change: StateChange = { group: group.name, from, to, reason: detail, failed, at, wake };
    for (const listener of this.listeners) listener(change);
  }

  private logWake(group: Group, wake: WakeRecord): void {
    const logger = this.deps.logger.child(group.name);
    const took = wake.endedAt === null ? '' : formatDuration(wake.endedAt - wake.startedAt);
    switch (wake.result) {
      case 'starting':
        return; // the state change line says who, with the reason
      case 'ready':
        logger.info(wake.timed ? `woke in ${took} (woken by ${wake.description})` : `awake: ${wake.description}`);
        return;
      case 'failed':
        logger.info(`wake failed after ${took} (woken by ${wake.description})`);
        return;
      case 'cancelled':
        logger.info(`wake cancelled after ${took} (woken by ${wake.description}): ${wake.error ?? ''}`);
        return;
    }
  }
}
