import { describePort, type HostPort, parseHostPort, parsePortSpec, type Protocol } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import type { CatalogEntry } from '../core/catalog.js';
import { describeError } from '../core/errors.js';
import { parseBytes } from '../core/bytes.js';
import { parseDependsOn } from '../core/dependencies.js';
import type { SleepPlan } from '../core/group.js';
import { groupsOf, LABEL, parseReplicas, splitList } from '../core/labels.js';
import { parseSleepPlan } from '../core/sleep-plan.js';
import { type HostnamePattern, parseHostnamePattern } from '../core/protocols/hostname-pattern.js';
import type { MinecraftRoute } from '../core/route.js';
import { parseWebhookUrl } from '../core/webhook-url.js';
import { AddressList } from '../core/address-list.js';
import { parseWakeMinBytes, parseWakeOn, type WakeOn } from '../core/wake-on.js';

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
  /** `P/udp` in the label; tcp without a suffix. The upstream is reached over the same protocol. */
  readonly protocol: Protocol;
  /** Where to forward; null means the member's own address at the same port. */
  readonly upstream: HostPort | null;
}

/** Group settings a member's labels may set; undefined: not set (or unreadable), so the default or another member decides. */
export interface DeclaredSettings {
  readonly idleMs: number | undefined;
  readonly idleThresholdBytes: number | undefined;
  readonly wakeOn: WakeOn | undefined;
  readonly wakeMinBytes: number | undefined;
  readonly wakeFrom: AddressList | undefined;
  readonly allowFrom: AddressList | undefined;
  readonly health: boolean | undefined;
  readonly sleep: SleepPlan | undefined;
  /** Where this group's state changes are POSTed, besides --webhook. */
  readonly webhook: URL | undefined;
}

/** What one container's labels declare, after dropping what could not be read. */
export interface MemberDeclaration extends DeclaredSettings {
  readonly container: CatalogEntry;
  /** The names its TCP ports answer to on a shared port (`proxytainer.hostname`); empty: every name no other group claims. */
  readonly hostnames: readonly HostnamePattern[];
  /** Set when `proxytainer.protocol=minecraft`. */
  readonly minecraft: MinecraftRoute | null;
  /** The groups it belongs to: one, or several for a shared member (`proxytainer.group=a,b`). */
  readonly groups: readonly string[];
  readonly ports: readonly DeclaredPort[];
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
  const groups = groupsOf(container.labels[LABEL.group] ?? '');
  const [group] = groups;
  if (group === undefined) {
    problem(LABEL.group, 'the group name is empty; give the group a name, e.g. proxytainer.group=web');
    return { declaration: null, problems };
  }
  if (container.unsupported !== undefined) {
    problem(LABEL.group, `${container.unsupported}; it is left out of group ${group}`, group);
    return { declaration: null, problems };
  }
  /** Reads an optional setting label; an unreadable value is a problem, and `otherwise` says what happens instead. */
  const setting = <T>(label: string, parse: (text: string) => T, otherwise = 'the default applies'): T | undefined => {
    const text = container.labels[label];
    if (text === undefined) return undefined;
    try {
      return parse(text);
    } catch (error) {
      problem(label, `${describeError(error)}; ${otherwise}`, group);
      return undefined;
    }
  };

  const ports: DeclaredPort[] = [];
  const portText = container.labels[LABEL.port];
  const upstreamText = container.labels[LABEL.upstream];
  if (portText !== undefined && groups.length > 1) {
    problem(LABEL.port, `${container.name} belongs to several groups (${groups.join(', ')}), so a connection to its port could not say which to wake; declare ports on a member of one group`, group);
  } else if (portText !== undefined) {
    const upstreams = upstreamText === undefined ? [] : splitList(upstreamText);
    const portParts = splitList(portText);
    if (upstreams.length > portParts.length) {
      problem(LABEL.upstream, `"${upstreamText ?? ''}" lists ${upstreams.length} upstreams for ${portParts.length} port(s); they pair by position, so the extra ones are ignored`, group);
    }
    portParts.forEach((part, i) => {
      let port: number;
      let protocol: Protocol;
      try {
        ({ port, protocol } = parsePortSpec(part));
      } catch (error) {
        problem(LABEL.port, `${describeError(error)} (in "${portText}")`, group);
        return;
      }
      // 53/udp and 53/tcp are two listeners; 53 and 53/tcp are one.
      const name = describePort({ port, protocol });
      if (ports.some((p) => p.port === port && p.protocol === protocol)) {
        problem(LABEL.port, `${name} is listed twice in "${portText}"`, group);
        return;
      }
      const upstreamPart = upstreams[i] ?? '';
      if (upstreamPart === '') {
        ports.push({ port, protocol, upstream: null });
        return;
      }
      try {
        ports.push({ port, protocol, upstream: parseHostPort(upstreamPart) });
      } catch (error) {
        problem(LABEL.upstream, `${describeError(error)}; ${name} is not served`, group);
      }
    });
  } else if (upstreamText !== undefined) {
    problem(LABEL.upstream, `"${upstreamText}" has no proxytainer.port to pair with; add proxytainer.port`, group);
  }

  const hostnames: HostnamePattern[] = [];
  const hostnameText = container.labels[LABEL.hostname];
  if (hostnameText !== undefined) {
    for (const part of splitList(hostnameText)) {
      if (part === '') continue;
      try {
        hostnames.push(parseHostnamePattern(part));
      } catch (error) {
        problem(LABEL.hostname, `${describeError(error)}; that name is not routed here`, group);
      }
    }
    if (hostnames.length === 0 && splitList(hostnameText).every((part) => part === '')) problem(LABEL.hostname, 'is empty; list names like app.example.com or *.example.com, or leave the label out', group);
  }
  const protocol = setting(LABEL.protocol, (text) => {
    const value = text.trim().toLowerCase();
    if (value !== 'minecraft') throw new Error(`"${text}" is not a protocol proxytainer reads; the one it knows is minecraft (TLS and HTTP need no label)`);
    return value;
  }, 'connections are forwarded without reading Minecraft');
  const motdText = container.labels[LABEL.motd];
  if (motdText !== undefined && protocol === undefined) problem(LABEL.motd, `applies with ${LABEL.protocol}=minecraft only; it is ignored`, group);
  const minecraft = protocol === undefined ? null : { motd: motdText === undefined || motdText.trim() === '' ? undefined : motdText };

  const idleMs = setting(LABEL.idle, (text) => {
    const ms = parseDuration(text);
    if (ms <= 0) throw new Error(`"${text}" must be longer than zero`);
    return ms;
  });
  const health = setting(LABEL.health, (text) => {
    const value = text.trim().toLowerCase();
    if (value !== 'true' && value !== 'false') throw new Error(`"${text}" is not true or false`);
    return value === 'true';
  });
  const sleep = setting(LABEL.sleep, parseSleepPlan);
  const idleThresholdBytes = setting(LABEL.idleThreshold, parseBytes);
  const wakeOn = setting(LABEL.wakeOn, parseWakeOn);
  const wakeMinBytes = setting(LABEL.wakeMinBytes, parseWakeMinBytes);
  const wakeFrom = setting(LABEL.wakeFrom, (text) => AddressList.parse(text), 'any client may wake the group');
  // A restriction that cannot be read fails closed: a typo must not open the group to everyone.
  const allowFrom = setting(LABEL.allowFrom, (text) => AddressList.parse(text), 'the group serves no one until it is fixed') ?? (container.labels[LABEL.allowFrom] === undefined ? undefined : AddressList.NOTHING);
  const webhook = setting(LABEL.webhook, parseWebhookUrl, "this group's changes are not sent there");
  const dependsOn = container.labels[LABEL.dependsOn];
  if (dependsOn !== undefined) for (const message of parseDependsOn(dependsOn).problems) problem(LABEL.dependsOn, `${message}; that dependency is ignored`, group);

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


  return { declaration: { container, groups, ports, hostnames, minecraft, idleMs, idleThresholdBytes, wakeOn, wakeMinBytes, wakeFrom, allowFrom, health, sleep, webhook }, problems };
}
