import { isUp, type Member } from './runtime.js';

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

/**
 * Judges a group from its members. With `health` on, a member with a health
 * check must report healthy; without a health check, running is enough.
 */
export function assessReadiness(members: readonly Member[], options: { readonly health: boolean }): Readiness {
  if (members.length === 0) return { kind: 'empty' };
  // A failing member is up in the backend's eyes (it keeps trying), so it counts in anyUp and is put back to sleep.
  const down = members.filter((m) => !isUp(m) || m.failing === true);
  if (down.length > 0) {
    return { kind: 'down', detail: down.map((m) => m.detail).join(', '), anyUp: members.some(isUp) };
  }
  const running = members.filter((m) => m.phase === 'running');
  if (options.health) {
    const unhealthy = running.filter((m) => m.health === 'unhealthy');
    if (unhealthy.length > 0) {
      return { kind: 'unhealthy', detail: unhealthy.map((m) => `${m.name} is unhealthy`).join(', ') };
    }
  }
  const waiting = [
    ...members.filter((m) => m.phase === 'starting').map((m) => m.detail),
    ...(options.health ? running.filter((m) => m.health === 'starting').map((m) => `${m.name} is not healthy yet`) : []),
  ];
  return waiting.length > 0 ? { kind: 'pending', detail: waiting.join(', ') } : { kind: 'ready' };
}
