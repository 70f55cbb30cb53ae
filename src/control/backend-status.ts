import { withFanOut } from '../core/abortable.js';
import type { Catalog } from '../core/catalog.js';
import { assessReadiness } from '../core/readiness.js';
import type { Runtime } from '../core/runtime.js';
import { describePlannedUpstream, planDiscovery } from '../discovery/discovery-plan.js';
import type { LabelProblem } from '../discovery/labels.js';
import { groupStatusFromBackend, type GroupStatus } from './status-document.js';

/** Groups, members, listeners and label problems as the backend alone tells them, for when no proxy manages a group. */
export async function statusFromBackend(backend: Runtime & Catalog, signal: AbortSignal): Promise<{ groups: GroupStatus[]; problems: readonly LabelProblem[] }> {
  const plan = planDiscovery(await backend.list(signal));
  const groups = await withFanOut(signal, (each) =>
    Promise.all(
    [...plan.groups.values()].map(async (group) => {
      const members = await backend.members(group.name, each);
      const ready = assessReadiness(members, { health: group.health ?? true }).kind === 'ready';
      const listeners = [...plan.listeners.values()]
        .filter((listener) => listener.group === group.name)
        .map((listener) => ({ port: listener.port, protocol: listener.protocol, bind: null, upstream: describePlannedUpstream(listener) }));
      return groupStatusFromBackend(group.name, members, listeners, ready, plan.problems);
    }),
    ),
  );
  return { groups: groups.sort((a, b) => a.name.localeCompare(b.name)), problems: plan.problems };
}
