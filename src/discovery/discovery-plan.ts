import { formatHostPort, type HostPort } from '../core/address.js';
import { formatDuration } from '../core/duration.js';
import { LABEL, type LabelledContainer, type LabelProblem, readMemberLabels } from './labels.js';

export interface PlannedListener {
  readonly port: number;
  readonly group: string;
  /** null: forward to the declaring member's own address at `port`. */
  readonly upstream: HostPort | null;
  /** The member whose labels declared this port. */
  readonly declaredBy: LabelledContainer;
}

export interface PlannedGroup {
  readonly name: string;
  /** Member names, oldest first. */
  readonly members: readonly string[];
  readonly idleMs: number | undefined;
  readonly health: boolean | undefined;
}

/** What the labels say should exist: groups, one listener per port, and every problem found. */
export interface DiscoveryPlan {
  readonly groups: ReadonlyMap<string, PlannedGroup>;
  readonly listeners: ReadonlyMap<number, PlannedListener>;
  readonly problems: readonly LabelProblem[];
}

function describeUpstream(upstream: HostPort | null): string {
  return upstream === null ? "the member's own address" : formatHostPort(upstream);
}

/** How a planned listener's upstream reads in logs and `status`. */
export function describePlannedUpstream(listener: PlannedListener): string {
  return listener.upstream === null ? `${listener.declaredBy.name}:${listener.port} (its address, found at each wake)` : formatHostPort(listener.upstream);
}

/**
 * Builds the plan from every labelled container. Conflicts resolve
 * predictably: containers are taken oldest first (then by name), and the
 * first to claim a port or set a group setting wins; the rest are reported.
 */
export function planDiscovery(containers: readonly LabelledContainer[]): DiscoveryPlan {
  const ordered = [...containers].sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  const problems: LabelProblem[] = [];
  const groups = new Map<string, { name: string; members: string[]; idleMs: number | undefined; idleFrom: string; health: boolean | undefined; healthFrom: string }>();
  const listeners = new Map<number, PlannedListener>();

  for (const container of ordered) {
    const { declaration, problems: found } = readMemberLabels(container);
    problems.push(...found);
    if (declaration === null) continue;
    const { group: name } = declaration;
    let group = groups.get(name);
    if (group === undefined) {
      group = { name, members: [], idleMs: undefined, idleFrom: '', health: undefined, healthFrom: '' };
      groups.set(name, group);
    }
    group.members.push(container.name);

    if (declaration.idleMs !== undefined) {
      if (group.idleMs === undefined) {
        group.idleMs = declaration.idleMs;
        group.idleFrom = container.name;
      } else if (group.idleMs !== declaration.idleMs) {
        problems.push({
          container: container.name,
          label: LABEL.idle,
          group: name,
          message: `${formatDuration(declaration.idleMs)} disagrees with ${formatDuration(group.idleMs)} on ${group.idleFrom}, which was first; using ${formatDuration(group.idleMs)}`,
        });
      }
    }
    if (declaration.health !== undefined) {
      if (group.health === undefined) {
        group.health = declaration.health;
        group.healthFrom = container.name;
      } else if (group.health !== declaration.health) {
        problems.push({
          container: container.name,
          label: LABEL.health,
          group: name,
          message: `${declaration.health} disagrees with ${group.health} on ${group.healthFrom}, which was first; using ${group.health}`,
        });
      }
    }

    for (const { port, upstream } of declaration.ports) {
      const claimed = listeners.get(port);
      if (claimed === undefined) {
        listeners.set(port, { port, group: name, upstream, declaredBy: container });
        continue;
      }
      const same = claimed.group === name && describeUpstream(claimed.upstream) === describeUpstream(upstream) && upstream !== null;
      if (same) continue; // replicas declaring the same listener
      problems.push({
        container: container.name,
        label: LABEL.port,
        group: name,
        message:
          claimed.group === name
            ? `port ${port} is already declared by ${claimed.declaredBy.name} in this group, forwarding to ${describeUpstream(claimed.upstream)}; this declaration is ignored`
            : `port ${port} is already claimed by group ${claimed.group} (${claimed.declaredBy.name}); this claim is ignored`,
      });
    }
  }

  const planned = new Map<string, PlannedGroup>();
  for (const group of groups.values()) {
    planned.set(group.name, { name: group.name, members: group.members, idleMs: group.idleMs, health: group.health });
  }
  return { groups: planned, listeners, problems };
}
