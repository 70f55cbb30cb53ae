import type { GroupStateName } from './group-machine.js';

/**
 * Whether a group can serve, as an uptime monitor should see it: asleep is
 * healthy, since the next connection wakes it. Not healthy: the last wake
 * failed (and none has succeeded since), or the group is backing off after
 * failed wakes.
 */
export interface GroupHealth {
  readonly healthy: boolean;
  /** One phrase: `running`, `asleep; the next connection wakes it`, `the last wake failed 2m ago: …`. */
  readonly reason: string;
}

export interface HealthFacts {
  readonly state: GroupStateName;
  /** The last wake that ended, ready or failed: what it came to, and why it failed. */
  readonly lastOutcome: { readonly result: 'ready' | 'failed'; readonly error: string | null; readonly msAgo: number } | null;
  /**
   * Seam for issue 12 (backoff after failed wakes): milliseconds until the
   * group may wake again, or null when it is not backing off. Nothing sets it
   * yet; once the group reports it, a group backing off answers unhealthy.
   */
  readonly backingOffForMs?: number | null;
}

function ago(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

export function judgeHealth(facts: HealthFacts): GroupHealth {
  const { state, lastOutcome } = facts;
  if (state === 'Running') return { healthy: true, reason: 'running' };
  if (facts.backingOffForMs !== undefined && facts.backingOffForMs !== null) {
    return { healthy: false, reason: `backing off after failed wakes; the next wake may start in ${Math.ceil(facts.backingOffForMs / 1000)}s` };
  }
  if (lastOutcome?.result === 'failed') {
    const retrying = state === 'Starting' ? '; waking again now' : '';
    return { healthy: false, reason: `the last wake failed ${ago(lastOutcome.msAgo)}: ${lastOutcome.error ?? 'no reason given'}${retrying}` };
  }
  switch (state) {
    case 'Idle':
      return { healthy: true, reason: 'asleep; the next connection wakes it' };
    case 'Starting':
      return { healthy: true, reason: 'waking' };
    case 'Stopping':
      return { healthy: true, reason: 'going to sleep; the next connection wakes it again' };
  }
}
