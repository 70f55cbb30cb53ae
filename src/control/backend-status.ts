import { withFanOut } from '../core/abortable.js';
import type { Catalog } from '../core/catalog.js';
import { assessReadiness } from '../core/readiness.js';
import type { Runtime } from '../core/runtime.js';
import { formatHostnamePattern } from '../core/protocols/hostname-pattern.js';
import { describePlannedUpstream, type PlannedListener, type PlannedRoute, planDiscovery } from '../discovery/discovery-plan.js';
import type { LabelProblem } from '../discovery/labels.js';
import { groupStatusFromBackend, type GroupStatus, type ListenerStatus, type RoutingStatus } from './status-document.js';

/** One group's part in a planned port. */
function listenerStatus(listener: PlannedListener, route: PlannedRoute): ListenerStatus {
  const status: ListenerStatus = { port: listener.port, protocol: listener.protocol, bind: null, upstream: describePlannedUpstream(route, listener.port) };
  const routed = listener.routes.length > 1 || route.hostnames.length > 0 || route.minecraft !== null;
  if (!routed) return status;
  const routing: RoutingStatus = {
    hostnames: route.hostnames.map(formatHostnamePattern),
    fallback: listener.routes.length > 1 && route.hostnames.length === 0,
    groups: listener.routes.map((r) => r.group),
    minecraft: route.minecraft !== null,
    counts: null,
  };
  return { ...status, routing };
}

/** Groups, members, listeners and label problems as the backend alone tells them, for when no proxy manages a group. */
export async function statusFromBackend(backend: Runtime & Catalog, signal: AbortSignal): Promise<{ groups: GroupStatus[]; problems: readonly LabelProblem[] }> {
  const plan = planDiscovery(await backend.list(signal));
  const groups = await withFanOut(signal, (each) =>
    Promise.all(
    [...plan.groups.values()].map(async (group) => {
      const members = await backend.members(group.name, each);
      const ready = assessReadiness(members, { health: group.health ?? true }).kind === 'ready';
      const listeners = [...plan.listeners.values()].flatMap((listener) => listener.routes.filter((route) => route.group === group.name).map((route) => listenerStatus(listener, route)));
      return groupStatusFromBackend(group.name, members, listeners, ready, plan.problems);
    }),
    ),
  );
  return { groups: groups.sort((a, b) => a.name.localeCompare(b.name)), problems: plan.problems };
}
