import { type HostPort, parseHostPort, parsePort } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import type { CatalogEntry } from '../core/catalog.js';
import { describeError } from '../core/errors.js';
import { LABEL, parseReplicas, splitList } from '../core/labels.js';

/** A label value that could not be used; reported in the log and in `status`, never fatal. */
export interface LabelProblem {
  readonly container: string;
  readonly label: string;
  readonly message: string;
  /** The group the problem belongs to, when it is known. */
  readonly group?: string;
}

export interface DeclaredPort {
  readonly port: number;
  /** Where to forward; null means the member's own address at the same port. */
  readonly upstream: HostPort | null;
}

/** What one container's labels declare, after dropping what could not be read. */
export interface MemberDeclaration {
  readonly container: CatalogEntry;
  readonly group: string;
  readonly ports: readonly DeclaredPort[];
  readonly idleMs: number | undefined;
  readonly health: boolean | undefined;
}

/**
 * Reads one container's proxytainer labels. Every unusable value becomes a
 * problem naming the container and the label; the rest is still used.
 */
export function readMemberLabels(container: CatalogEntry): { declaration: MemberDeclaration | null; problems: LabelProblem[] } {
  const problems: LabelProblem[] = [];
  const problem = (label: string, message: string, group?: string): void => {
    problems.push({ container: container.name, label, message, ...(group === undefined ? {} : { group }) });
  };
  const group = container.labels[LABEL.group]?.trim() ?? '';
  if (group === '') {
    problem(LABEL.group, 'the group name is empty; give the group a name, e.g. proxytainer.group=web');
    return { declaration: null, problems };
  }
  if (container.unsupported !== undefined) {
    problem(LABEL.group, `${container.unsupported}; it is left out of group ${group}`, group);
    return { declaration: null, problems };
  }

  const ports: DeclaredPort[] = [];
  const portText = container.labels[LABEL.port];
  const upstreamText = container.labels[LABEL.upstream];
  if (portText !== undefined) {
    const upstreams = upstreamText === undefined ? [] : splitList(upstreamText);
    const portParts = splitList(portText);
    if (upstreams.length > portParts.length) {
      problem(LABEL.upstream, `"${upstreamText ?? ''}" lists ${upstreams.length} upstreams for ${portParts.length} port(s); they pair by position, so the extra ones are ignored`, group);
    }
    portParts.forEach((part, i) => {
      let port: number;
      try {
        port = parsePort(part);
      } catch (error) {
        problem(LABEL.port, `${describeError(error)} (in "${portText}")`, group);
        return;
      }
      if (ports.some((p) => p.port === port)) {
        problem(LABEL.port, `port ${port} is listed twice in "${portText}"`, group);
        return;
      }
      const upstreamPart = upstreams[i] ?? '';
      if (upstreamPart === '') {
        ports.push({ port, upstream: null });
        return;
      }
      try {
        ports.push({ port, upstream: parseHostPort(upstreamPart) });
      } catch (error) {
        problem(LABEL.upstream, `${describeError(error)}; port ${port} is not served`, group);
      }
    });
  } else if (upstreamText !== undefined) {
    problem(LABEL.upstream, `"${upstreamText}" has no proxytainer.port to pair with; add proxytainer.port`, group);
  }

  let idleMs: number | undefined;
  const idleText = container.labels[LABEL.idle];
  if (idleText !== undefined) {
    try {
      idleMs = parseDuration(idleText);
      if (idleMs <= 0) throw new Error(`"${idleText}" must be longer than zero`);
    } catch (error) {
      idleMs = undefined;
      problem(LABEL.idle, `${describeError(error)}; the default idle period applies`, group);
    }
  }

  let health: boolean | undefined;
  const healthText = container.labels[LABEL.health]?.trim().toLowerCase();
  if (healthText !== undefined) {
    if (healthText === 'true' || healthText === 'false') health = healthText === 'true';
    else problem(LABEL.health, `"${container.labels[LABEL.health] ?? ''}" is not true or false; the default applies`, group);
  }

  const replicasText = container.labels[LABEL.replicas];
  if (replicasText !== undefined) {
    if (container.kind !== 'service') {
      problem(LABEL.replicas, `applies to Swarm services only (a wake scales a service to it); ${container.name} is a container, so it is ignored`, group);
    } else {
      try {
        parseReplicas(replicasText);
      } catch (error) {
        problem(LABEL.replicas, `${describeError(error)}; a wake restores the count the service had before it slept (1 if it never ran)`, group);
      }
    }
  }

  return { declaration: { container, group, ports, idleMs, health }, problems };
}
