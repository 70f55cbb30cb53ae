import { type DeclaredDependency, parseComposeDependsOn, parseDependsOn } from '../core/dependencies.js';
import { COMPOSE_LABEL, groupsOf, LABEL } from '../core/labels.js';
import type { Dependency } from '../core/runtime.js';

/** A container as the listing shows it: enough to resolve groups and dependencies without inspecting it. */
export interface ListedContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A container of a group's stack: the groups that use it, and what it waits for, resolved to container ids. */
export interface StackMember {
  readonly container: ListedContainer;
  readonly groups: readonly string[];
  readonly dependsOn: readonly Dependency[];
}

/** What a container declares it depends on: proxytainer's label, then compose's for names it does not mention. */
export function declaredDependencies(container: ListedContainer): DeclaredDependency[] {
  const ours = parseDependsOn(container.labels[LABEL.dependsOn] ?? '').dependencies;
  const compose = parseComposeDependsOn(container.labels[COMPOSE_LABEL.dependsOn] ?? '');
  return [...ours, ...compose.filter((c) => !ours.some((o) => o.name === c.name))];
}

/** Whether `candidate` is what `name` means to `from`: a compose service of the same project, or a container name. */
export function answersTo(candidate: ListedContainer, name: string, from: ListedContainer): boolean {
  const project = from.labels[COMPOSE_LABEL.project];
  if (project !== undefined && candidate.labels[COMPOSE_LABEL.project] === project && candidate.labels[COMPOSE_LABEL.service] === name) return true;
  return candidate.name === name;
}

/**
 * A group's stack: its members, and every container they depend on, however
 * far. `lookup(name, from)` finds containers the listing did not have (a
 * dependency carrying no proxytainer label). Each container's groups are its
 * own, those of the labelled containers that depend on it, and `group`.
 */
export async function resolveStack(
  group: string,
  labelled: readonly ListedContainer[],
  lookup: (name: string, from: ListedContainer) => Promise<ListedContainer[]>,
): Promise<StackMember[]> {
  const known = new Map(labelled.map((c) => [c.id, c]));
  const targets = async (dependency: DeclaredDependency, from: ListedContainer): Promise<ListedContainer[]> => {
    const found = [...known.values()].filter((c) => answersTo(c, dependency.name, from));
    if (found.length > 0) return found;
    const fetched = await lookup(dependency.name, from);
    for (const c of fetched) known.set(c.id, c);
    return fetched;
  };
  const inStack = new Map<string, { container: ListedContainer; dependsOn: Dependency[] }>();
  const queue = labelled.filter((c) => groupsOf(c.labels[LABEL.group] ?? '').includes(group));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (inStack.has(next.id)) continue;
    const dependsOn: Dependency[] = [];
    inStack.set(next.id, { container: next, dependsOn });
    for (const dependency of declaredDependencies(next)) {
      const found = await targets(dependency, next);
      if (found.length === 0) dependsOn.push({ id: null, name: dependency.name, condition: dependency.condition });
      for (const target of found) {
        dependsOn.push({ id: target.id, name: dependency.name, condition: dependency.condition });
        queue.push(target);
      }
    }
  }
  return [...inStack.values()].map(({ container, dependsOn }) => {
    const users = labelled.filter((user) => declaredDependencies(user).some((d) => answersTo(container, d.name, user)));
    const groups = new Set([group, ...groupsOf(container.labels[LABEL.group] ?? ''), ...users.flatMap((user) => groupsOf(user.labels[LABEL.group] ?? ''))]);
    return { container, groups: [...groups].sort(), dependsOn };
  });
}
