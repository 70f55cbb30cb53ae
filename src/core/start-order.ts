import { type DependencyCondition, isUp, type Member } from './runtime.js';

/** One member waiting for another: `from` depends on `to`. */
export interface StartEdge {
  readonly from: string;
  readonly to: string;
  readonly condition: DependencyCondition;
}

/** In what order a group's members start, and what was wrong with what they declared. */
export interface StartPlan {
  /** The dependencies that hold: those naming nothing, and one edge of every cycle, are dropped. */
  readonly edges: readonly StartEdge[];
  /** Member ids in layers: a member depends only on members of earlier layers. Stopping goes in reverse. */
  readonly layers: readonly (readonly string[])[];
  /** Declarations that could not be followed: the member that declared it, and what was wrong. */
  readonly problems: readonly StartProblem[];
}

export interface StartProblem {
  readonly member: string;
  readonly message: string;
}

const CONDITION_WORDS: Readonly<Record<DependencyCondition, string>> = {
  service_started: 'to start',
  service_healthy: 'to be healthy',
  service_completed_successfully: 'to complete successfully',
};

function byName(a: Member, b: Member): number {
  return a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}

/** A cycle among `edges`, as the edges that close it, or null. Depth-first from each member in name order. */
function findCycle(ids: readonly string[], edges: readonly StartEdge[]): StartEdge[] | null {
  const out = new Map<string, StartEdge[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge]);
  const done = new Set<string>();
  const path: StartEdge[] = [];
  const onPath = new Set<string>();
  const visit = (id: string): StartEdge[] | null => {
    if (done.has(id)) return null;
    onPath.add(id);
    for (const edge of out.get(id) ?? []) {
      if (onPath.has(edge.to)) return [...path.slice(path.findIndex((e) => e.from === edge.to)), edge];
      path.push(edge);
      const found = visit(edge.to);
      if (found !== null) return found;
      path.pop();
    }
    onPath.delete(id);
    done.add(id);
    return null;
  };
  for (const id of ids) {
    const found = visit(id);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Orders a group's members by what they depend on, as compose does. A
 * dependency that names nothing, and the edge that closes a cycle, are
 * dropped and reported: the group still wakes, as compose users expect of a
 * tool that must not wedge.
 */
export function planStart(members: readonly Member[]): StartPlan {
  const sorted = [...members].sort(byName);
  const names = new Map(sorted.map((m) => [m.id, m.name]));
  const problems: StartProblem[] = [];
  let edges: StartEdge[] = [];
  for (const member of sorted) {
    for (const dependency of member.dependsOn) {
      if (dependency.id === null || !names.has(dependency.id)) {
        problems.push({ member: member.name, message: `${member.name} depends on ${dependency.name}, which names no container or service; that dependency is ignored` });
      } else if (!edges.some((e) => e.from === member.id && e.to === dependency.id)) {
        edges.push({ from: member.id, to: dependency.id, condition: dependency.condition });
      }
    }
  }
  const ids = sorted.map((m) => m.id);
  for (let cycle = findCycle(ids, edges); cycle !== null; cycle = findCycle(ids, edges)) {
    const closing = cycle[cycle.length - 1] as StartEdge;
    const loop = [...cycle.map((e) => names.get(e.from) ?? e.from), names.get(closing.to) ?? closing.to].join(' → ');
    const member = names.get(closing.from) ?? closing.from;
    problems.push({ member, message: `dependencies form a cycle (${loop}); ${member}'s dependency on ${names.get(closing.to) ?? ''} is ignored` });
    edges = edges.filter((e) => e !== closing);
  }
  const layers: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < ids.length) {
    const layer = ids.filter((id) => !placed.has(id) && edges.every((e) => e.from !== id || placed.has(e.to)));
    layers.push(layer);
    for (const id of layer) placed.add(id);
  }
  return { edges, layers, problems };
}

/** Members some other member waits on to complete successfully: one-shot jobs (migrations), done once they exit 0. */
export function oneShots(members: readonly Member[]): Set<string> {
  return new Set(members.flatMap((m) => m.dependsOn.filter((d) => d.condition === 'service_completed_successfully' && d.id !== null).map((d) => d.id as string)));
}

/** Whether what `edge` waits for holds now, given the member it waits on and whether this wake started it. */
export function dependencyState(edge: StartEdge, target: Member, startedByThisWake: boolean): 'met' | 'waiting' | { readonly failed: string } {
  switch (edge.condition) {
    case 'service_started':
      return isUp(target) || (startedByThisWake && target.exitCode === 0) ? 'met' : 'waiting';
    case 'service_healthy':
      if (target.phase === 'running' && target.health === 'unhealthy') return { failed: `${target.name} is unhealthy` };
      return target.phase === 'running' && target.health !== 'starting' ? 'met' : 'waiting';
    case 'service_completed_successfully':
      if (!startedByThisWake || isUp(target) || target.exitCode === null) return 'waiting';
      return target.exitCode === 0 ? 'met' : { failed: target.detail };
  }
}

/** What a waiting member waits for, in a phrase: `waiting for db to be healthy`. */
export function describeWait(target: Member, condition: DependencyCondition): string {
  return `waiting for ${target.name} ${CONDITION_WORDS[condition]}`;
}

