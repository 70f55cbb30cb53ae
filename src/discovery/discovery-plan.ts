import { describePort, formatHostPort, formatPortSpec, type HostPort, type PortSpec, type Protocol, reachesListener } from '../core/address.js';
import { formatBytes } from '../core/bytes.js';
import { formatDuration } from '../core/duration.js';
import { formatSleepPlan } from '../core/sleep-plan.js';
import { redactUrl } from '../core/webhook-url.js';
import type { AddressList } from '../core/address-list.js';
import type { WakeOn } from '../core/wake-on.js';
import type { CatalogEntry } from '../core/catalog.js';
import { LABEL } from '../core/labels.js';
import { type DeclaredSettings, type LabelProblem, readMemberLabels } from './labels.js';
import { formatHostnamePattern, type HostnamePattern } from '../core/protocols/hostname-pattern.js';
import type { MinecraftRoute } from '../core/route.js';

/** One group's claim on a port. */
export interface PlannedRoute {
  readonly group: string;
  /** null: forward to the declaring member's own address at the port. */
  readonly upstream: HostPort | null;
  /** The member whose labels declared this port for the group. */
  readonly declaredBy: CatalogEntry;
  /** The names it answers to on a shared TCP port; empty: the fallback (or the port's only group). */
  readonly hostnames: readonly HostnamePattern[];
  readonly minecraft: MinecraftRoute | null;
}

/** A port and the groups on it. The route fields are the first claim's, the port's only one unless it is shared. */
export interface PlannedListener extends PlannedRoute {
  readonly port: number;
  readonly protocol: Protocol;
  /** Every group on the port, oldest claim first: several on a TCP port shared by name (proxytainer.hostname). */
  readonly routes: readonly PlannedRoute[];
}

/** A group the labels declare, with the settings its members agree on (the oldest wins where they do not). */
export interface PlannedGroup extends DeclaredSettings {
  readonly name: string;
  /** Member names, oldest first. */
  readonly members: readonly string[];
}

/** How listeners are keyed: `8080/tcp`, `27015/udp` (a port may have one of each). */
export function listenerKey(spec: PortSpec): string {
  return formatPortSpec(spec);
}

/** What the labels say should exist: groups, one listener per port and protocol, and every problem found. */
export interface DiscoveryPlan {
  readonly groups: ReadonlyMap<string, PlannedGroup>;
  /** By listenerKey. */
  readonly listeners: ReadonlyMap<string, PlannedListener>;
  readonly problems: readonly LabelProblem[];
}

function describeUpstream(upstream: HostPort | null): string {
  return upstream === null ? "the member's own address" : formatHostPort(upstream);
}

/** How a planned route's upstream reads in logs and `status`. */
export function describePlannedUpstream(route: PlannedRoute, port: number): string {
  return route.upstream === null ? `${route.declaredBy.name}:${port} (its address, found at each wake)` : formatHostPort(route.upstream);
}

/**
 * A claim on a port another group holds. TCP ports are shared by name: a
 * claim with names takes those no earlier claim has; a claim without names
 * becomes the port's fallback, unless there is one already. Returns the
 * problems, and whether the claim joins the port.
 */
function shareClaim(existing: PlannedRoute[], claim: PlannedRoute, spec: PortSpec): { join: PlannedRoute | null; problems: { label: string; message: string }[] } {
  const port = describePort(spec);
  const first = existing[0] as PlannedRoute;
  const ignored = (holder: PlannedRoute): string =>
    `${port} is already claimed by group ${holder.group} (${holder.declaredBy.name}); this claim is ignored`;
  if (spec.protocol === 'udp') return { join: null, problems: [{ label: LABEL.port, message: ignored(first) }] };
  if (claim.hostnames.length === 0) {
    const fallback = existing.find((route) => route.hostnames.length === 0);
    if (fallback === undefined) return { join: claim, problems: [] };
    return {
      join: null,
      problems: [{ label: LABEL.port, message: `${ignored(fallback)}; groups share a port by ${LABEL.hostname}, and only one group on it may go without (the fallback for names no group claims)` }],
    };
  }
  const problems: { label: string; message: string }[] = [];
  const kept = claim.hostnames.filter((pattern) => {
    const name = formatHostnamePattern(pattern);
    const holder = existing.find((route) => route.hostnames.some((other) => formatHostnamePattern(other) === name));
    if (holder === undefined) return true;
    problems.push({ label: LABEL.hostname, message: `${name} on ${port} is already claimed by group ${holder.group} (${holder.declaredBy.name}), which was first; group ${claim.group} does not get it` });
    return false;
  });
  if (kept.length === 0) return { join: null, problems: [...problems, { label: LABEL.port, message: `${port}: every name this member lists is claimed by an older group; this claim is ignored` }] };
  return { join: { ...claim, hostnames: kept }, problems };
}

/** A group setting that the first member to set it decides; later members that disagree are reported. */
class FirstWins<T> {
  value: T | undefined;
  private from = '';

  constructor(
    private readonly label: string,
    private readonly show: (value: T) => string,
  ) {}

  offer(value: T | undefined, container: string, group: string, problems: LabelProblem[]): void {
    if (value === undefined) return;
    if (this.value === undefined) {
      this.value = value;
      this.from = container;
    } else if (this.show(this.value) !== this.show(value)) {
      const first = this.show(this.value);
      problems.push({ container, label: this.label, group, message: `${this.show(value)} disagrees with ${first} on ${this.from}, which was first; using ${first}` });
    }
  }
}

/** Every group setting a label can set, each decided by the first member to set it. */
class SettingsVote {
  private readonly idle = new FirstWins(LABEL.idle, formatDuration);
  private readonly idleThreshold = new FirstWins(LABEL.idleThreshold, formatBytes);
  private readonly wakeOn = new FirstWins<WakeOn>(LABEL.wakeOn, String);
  private readonly wakeMinBytes = new FirstWins<number>(LABEL.wakeMinBytes, String);
  private readonly wakeFrom = new FirstWins<AddressList>(LABEL.wakeFrom, (list) => list.text);
  private readonly allowFrom = new FirstWins<AddressList>(LABEL.allowFrom, (list) => list.text);
  private readonly health = new FirstWins<boolean>(LABEL.health, String);
  private readonly sleep = new FirstWins(LABEL.sleep, formatSleepPlan);
  private readonly webhook = new FirstWins(LABEL.webhook, redactUrl);

  offer(declared: DeclaredSettings, container: string, group: string, problems: LabelProblem[]): void {
    this.idle.offer(declared.idleMs, container, group, problems);
    this.idleThreshold.offer(declared.idleThresholdBytes, container, group, problems);
    this.wakeOn.offer(declared.wakeOn, container, group, problems);
    this.wakeMinBytes.offer(declared.wakeMinBytes, container, group, problems);
    this.wakeFrom.offer(declared.wakeFrom, container, group, problems);
    this.allowFrom.offer(declared.allowFrom, container, group, problems);
    this.health.offer(declared.health, container, group, problems);
    this.sleep.offer(declared.sleep, container, group, problems);
    this.webhook.offer(declared.webhook, container, group, problems);
  }

  result(): DeclaredSettings {
    return {
      idleMs: this.idle.value,
      idleThresholdBytes: this.idleThreshold.value,
      wakeOn: this.wakeOn.value,
      wakeMinBytes: this.wakeMinBytes.value,
      wakeFrom: this.wakeFrom.value,
      allowFrom: this.allowFrom.value,
      health: this.health.value, sleep: this.sleep.value, webhook: this.webhook.value };
  }
}

/**
 * An upstream that is the port's own listener would connect back into the
 * proxy, forever; a member on the host network without an upstream would be
 * reached at 127.0.0.1 on that same port, which the proxy holds, so the
 * member cannot even listen there. Both are refused when the labels are read.
 */
function loopProblem(container: CatalogEntry, spec: PortSpec, upstream: HostPort | null, bind: string | undefined): { label: string; message: string } | null {
  const { port } = spec;
  const listener = { port, bind };
  const name = describePort(spec);
  if (upstream !== null && reachesListener(upstream, listener)) {
    return {
      label: LABEL.upstream,
      message: `${formatHostPort(upstream)} is ${name}'s own listener, so ${spec.protocol === 'udp' ? 'datagrams' : 'connections'} would loop back into the proxy; point it at where the member listens; ${name} is not served`,
    };
  }
  if (upstream === null && container.hostNetwork && reachesListener({ host: '127.0.0.1', port }, listener)) {
    return {
      label: LABEL.port,
      message: `${container.name} is on the host network, where the proxy itself listens on ${name}; run the member on another port and name it with ${LABEL.upstream}=127.0.0.1:<its port>; ${name} is not served`,
    };
  }
  return null;
}

/**
 * Builds the plan from every labelled container. Conflicts resolve
 * predictably: containers are taken oldest first (then by name), and the
 * first to claim a port or set a group setting wins; the rest are reported.
 */
export function planDiscovery(containers: readonly CatalogEntry[], options: { readonly bind?: string | undefined } = {}): DiscoveryPlan {
  const ordered = [...containers].sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  const problems: LabelProblem[] = [];
  const groups = new Map<string, { name: string; members: string[]; settings: SettingsVote }>();
  const listeners = new Map<string, PlannedListener>();

  for (const container of ordered) {
    const { declaration, problems: found } = readMemberLabels(container);
    problems.push(...found);
    if (declaration === null) continue;
    for (const name of declaration.groups) {
      let group = groups.get(name);
      if (group === undefined) {
        group = { name, members: [], settings: new SettingsVote() };
        groups.set(name, group);
      }
      group.members.push(container.name);
      group.settings.offer(declaration, container.name, name, problems);
    }
    const [name = ''] = declaration.groups; // ports are declared only by members of one group

    for (const { port, protocol, upstream } of declaration.ports) {
      const spec = { port, protocol };
      const loop = loopProblem(container, spec, upstream, options.bind);
      if (loop !== null) {
        problems.push({ container: container.name, group: name, ...loop });
        continue;
      }
      const key = listenerKey(spec);
      const claimed = listeners.get(key);
      const claim: PlannedRoute = { group: name, upstream, declaredBy: container, hostnames: protocol === 'tcp' ? declaration.hostnames : [], minecraft: protocol === 'tcp' ? declaration.minecraft : null };
      if (claimed === undefined) {
        listeners.set(key, { port, protocol, ...claim, routes: [claim] });
        continue;
      }
      const own = claimed.routes.find((route) => route.group === name);
      if (own !== undefined) {
        const same = describeUpstream(own.upstream) === describeUpstream(upstream) && upstream !== null;
        if (same) continue; // replicas declaring the same listener
        problems.push({
          container: container.name,
          label: LABEL.port,
          group: name,
          message: `${describePort(spec)} is already declared by ${own.declaredBy.name} in this group, forwarding to ${describeUpstream(own.upstream)}; this declaration is ignored`,
        });
        continue;
      }
      const shared = shareClaim([...claimed.routes], claim, spec);
      for (const problem of shared.problems) problems.push({ container: container.name, group: name, ...problem });
      if (shared.join !== null) listeners.set(key, { ...claimed, routes: [...claimed.routes, shared.join] });
    }
  }

  const planned = new Map<string, PlannedGroup>();
  for (const group of groups.values()) {
    planned.set(group.name, { name: group.name, members: group.members, ...group.settings.result() });
  }
  return { groups: planned, listeners, problems };
}
