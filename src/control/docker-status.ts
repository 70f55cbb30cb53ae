import { assessReadiness } from '../core/readiness.js';
import { describePlannedUpstream, planDiscovery } from '../discovery/discovery-plan.js';
import type { LabelProblem } from '../discovery/labels.js';
import type { DockerRuntime } from '../docker/docker-runtime.js';
import { groupStatusFromDocker, type GroupStatus } from './status-document.js';

/** Groups, members, listeners and label problems as Docker alone tells them, for when no proxy manages a group. */
export async function statusFromDocker(runtime: DockerRuntime, signal: AbortSignal): Promise<{ groups: GroupStatus[]; problems: readonly LabelProblem[] }> {
  const plan = planDiscovery(await runtime.labelledContainers(signal));
  const groups = await Promise.all(
    [...plan.groups.values()].map(async (group) => {
      const members = await runtime.members(group.name, signal);
      const ready = assessReadiness(members, { health: group.health ?? true }).kind === 'ready';
      const listeners = [...plan.listeners.values()]
        .filter((listener) => listener.group === group.name)
        .map((listener) => ({ port: listener.port, bind: null, upstream: describePlannedUpstream(listener) }));
      return groupStatusFromDocker(group.name, members, listeners, ready, plan.problems);
    }),
  );
  return { groups: groups.sort((a, b) => a.name.localeCompare(b.name)), problems: plan.problems };
}
