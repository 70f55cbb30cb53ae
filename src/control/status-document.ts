import type { GroupStateName } from '../core/group-machine.js';
import type { GroupSnapshot } from '../core/group.js';
import type { HealthStatus, Member, MemberKind } from '../core/runtime.js';
import type { LabelProblem } from '../discovery/labels.js';

/**
 * The `status --format json` document. Stable: fields are only ever added,
 * and a change that is not an addition raises `schemaVersion`. README.md
 * documents every field.
 */
export interface StatusDocument {
  readonly schemaVersion: 1;
  /** The running proxies that answered; empty when none runs. */
  readonly proxies: readonly ProxyInfo[];
  readonly groups: readonly GroupStatus[];
  /** Every label problem, including those of containers that belong to no usable group. */
  readonly problems: readonly LabelProblem[];
  /** Set when part of the picture could not be read (e.g. Docker was unreachable). */
  readonly notes: readonly string[];
  /** The engine `status` itself asked, and what chose it; null when it was not reached. */
  readonly docker: { readonly endpoint: string; readonly chosenBy: string } | null;
}

export interface ProxyInfo {
  readonly pid: number;
  readonly version: string;
  readonly mode: 'static' | 'discovery';
  /** The Docker endpoint it uses. */
  readonly docker: string;
  readonly controlSocket: string;
  readonly startedAt: string;
}

export interface MemberStatus {
  readonly name: string;
  readonly id: string;
  readonly state: string;
  readonly health: HealthStatus;
  readonly kind: MemberKind;
  /** A Swarm service: tasks running and desired. */
  readonly replicas?: { readonly running: number; readonly desired: number };
  /** A Swarm service: the nodes its tasks are on. */
  readonly nodes?: readonly string[];
}

export interface ListenerStatus {
  readonly port: number;
  /** null: every interface. */
  readonly bind: string | null;
  readonly upstream: string;
}

export interface GroupStatus {
  readonly name: string;
  /** pid of the proxy managing the group; null when the group is read from Docker alone. */
  readonly proxy: number | null;
  /** The proxy's lifecycle state; without a proxy, Running when every member is ready, else Idle. */
  readonly state: GroupStateName;
  readonly members: { readonly running: number; readonly total: number; readonly list: readonly MemberStatus[] };
  readonly listeners: readonly ListenerStatus[];
  readonly connections: { readonly open: number; readonly held: number };
  readonly bytes: { readonly in: number; readonly out: number };
  /** ISO time of the last connection, byte or wake; null when none happened or without a proxy. */
  readonly lastActivity: string | null;
  /** Seconds until the idle stop if nothing happens; null unless Running under a proxy. */
  readonly sleepsInSeconds: number | null;
  readonly settings: { readonly idleSeconds: number; readonly health: boolean; readonly startTimeoutSeconds: number } | null;
  readonly problems: readonly LabelProblem[];
}

export function memberStatus(member: Member): MemberStatus {
  const status = { name: member.name, id: member.id.slice(0, 12), state: member.state, health: member.health, kind: member.kind ?? 'container' } as const;
  if (member.replicas === undefined) return status;
  const { running, desired, nodes } = member.replicas;
  return { ...status, replicas: { running, desired }, nodes };
}

function membersOf(members: readonly Member[] | null): GroupStatus['members'] {
  const all = members ?? [];
  return { running: all.filter((m) => m.phase === 'running').length, total: all.length, list: all.map(memberStatus) };
}

/** A group as its proxy sees it. */
export function groupStatusFromSnapshot(
  snapshot: GroupSnapshot,
  proxyPid: number,
  listeners: readonly ListenerStatus[],
  problems: readonly LabelProblem[],
  now: Date,
): GroupStatus {
  return {
    name: snapshot.name,
    proxy: proxyPid,
    state: snapshot.state,
    members: membersOf(snapshot.members),
    listeners,
    connections: { open: snapshot.open + snapshot.connecting, held: snapshot.held },
    bytes: { in: snapshot.bytesIn, out: snapshot.bytesOut },
    lastActivity: snapshot.msSinceActivity === null ? null : new Date(now.getTime() - snapshot.msSinceActivity).toISOString(),
    sleepsInSeconds: snapshot.msUntilSleep === null ? null : Math.round(snapshot.msUntilSleep / 1000),
    settings: {
      idleSeconds: snapshot.settings.idleMs / 1000,
      health: snapshot.settings.health,
      startTimeoutSeconds: snapshot.settings.startTimeoutMs / 1000,
    },
    problems: problems.filter((p) => p.group === snapshot.name),
  };
}

/** A group read from the backend alone, when no proxy manages it. */
export function groupStatusFromBackend(
  name: string,
  members: readonly Member[],
  listeners: readonly ListenerStatus[],
  ready: boolean,
  problems: readonly LabelProblem[],
): GroupStatus {
  return {
    name,
    proxy: null,
    state: ready ? 'Running' : 'Idle',
    members: membersOf(members),
    listeners,
    connections: { open: 0, held: 0 },
    bytes: { in: 0, out: 0 },
    lastActivity: null,
    sleepsInSeconds: null,
    settings: null,
    problems: problems.filter((p) => p.group === name),
  };
}
