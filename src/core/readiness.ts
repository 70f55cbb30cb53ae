import type { Member } from './runtime.js';

/** What a group's members say about whether it can serve. */
export type Readiness =
  | { readonly kind: 'empty' }
  | { readonly kind: 'ready' }
  /** Every member is running or restarting, some are not healthy yet. */
  | { readonly kind: 'pending'; readonly detail: string }
  /** Some member is not running. */
  | { readonly kind: 'down'; readonly detail: string; readonly anyRunning: boolean }
  /** Every member runs, but some healthcheck reports unhealthy. */
  | { readonly kind: 'unhealthy'; readonly detail: string };

function describeDown(member: Member): string {
  const code = member.exitCode === null ? '' : ` (exit code ${member.exitCode})`;
  return `${member.name} is ${member.state}${member.state === 'exited' || member.state === 'dead' ? code : ''}`;
}

/**
 * Judges a group from its members. With `health` on, a member with a Docker
 * healthcheck must report healthy; without a healthcheck, running is enough.
 */
export function assessReadiness(members: readonly Member[], options: { readonly health: boolean }): Readiness {
  if (members.length === 0) return { kind: 'empty' };
  const down = members.filter((m) => m.state !== 'running' && m.state !== 'restarting');
  if (down.length > 0) {
    return {
      kind: 'down',
      detail: down.map(describeDown).join(', '),
      anyRunning: members.some((m) => m.state === 'running'),
    };
  }
  const restarting = members.filter((m) => m.state === 'restarting');
  const running = members.filter((m) => m.state === 'running');
  if (options.health) {
    const unhealthy = running.filter((m) => m.health === 'unhealthy');
    if (unhealthy.length > 0) {
      return { kind: 'unhealthy', detail: unhealthy.map((m) => `${m.name} is unhealthy`).join(', ') };
    }
  }
  const waiting = [
    ...restarting.map((m) => `${m.name} is restarting`),
    ...(options.health ? running.filter((m) => m.health === 'starting').map((m) => `${m.name} is not healthy yet`) : []),
  ];
  return waiting.length > 0 ? { kind: 'pending', detail: waiting.join(', ') } : { kind: 'ready' };
}
