import { isUp, type Member } from './runtime.js';
import { oneShots } from './start-order.js';

/** What a group's members say about whether it can serve. */
export type Readiness =
  | { readonly kind: 'empty' }
  | { readonly kind: 'ready' }
  /** Every member is up or on its way, some are not ready yet. */
  | { readonly kind: 'pending'; readonly detail: string }
  /** Some member is asleep, ended, or failing. `anyUp`: some member is up, so stopping is not a no-op. */
  | { readonly kind: 'down'; readonly detail: string; readonly anyUp: boolean }
  /** Every member runs, but some health check reports unhealthy. */
  | { readonly kind: 'unhealthy'; readonly detail: string };

export interface ReadinessOptions {
  /** Wait for health checks to pass. */
  readonly health: boolean;
  /**
   * Members whose health reading is stale and to be ignored: those this wake
   * unpaused. They were ready when paused, and Docker keeps checking health
   * while a container is frozen, so they read unhealthy until the next check.
   */
  readonly trusted?: ReadonlySet<string>;
}

/**
 * Judges a group from its members. With `health` on, a member with a health
 * check must report healthy; without a health check, running is enough. A
 * one-shot job (another member waits for it to complete successfully) is done
 * once it exited 0, and down if it failed.
 */
export function assessReadiness(members: readonly Member[], options: ReadinessOptions): Readiness {
  if (members.length === 0) return { kind: 'empty' };
  const jobs = oneShots(members);
  const jobDone = (m: Member): boolean => jobs.has(m.id) && m.phase === 'stopped' && m.exitCode === 0;
  // A failing member is up in the backend's eyes (it keeps trying), so it counts in anyUp and is put back to sleep.
  const down = members.filter((m) => (!isUp(m) && !jobDone(m)) || m.failing === true);
  if (down.length > 0) {
    return { kind: 'down', detail: down.map((m) => m.detail).join(', '), anyUp: members.some(isUp) };
  }
  const checked = members.filter((m) => m.phase === 'running' && options.health && options.trusted?.has(m.id) !== true);
  const unhealthy = checked.filter((m) => m.health === 'unhealthy');
  if (unhealthy.length > 0) {
    return { kind: 'unhealthy', detail: unhealthy.map((m) => `${m.name} is unhealthy`).join(', ') };
  }
  const waiting = [
    ...members.filter((m) => m.phase === 'starting').map((m) => m.detail),
    ...members.filter((m) => jobs.has(m.id) && m.phase === 'running').map((m) => `${m.name} has not completed yet`),
    ...checked.filter((m) => m.health === 'starting').map((m) => `${m.name} is not healthy yet`),
  ];
  return waiting.length > 0 ? { kind: 'pending', detail: waiting.join(', ') } : { kind: 'ready' };
}
