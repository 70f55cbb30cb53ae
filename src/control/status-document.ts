import { formatDuration } from '../core/duration.js';
import type { GroupHealth } from '../core/group-health.js';
import type { GroupStateName } from '../core/group-machine.js';
import type { GroupSnapshot } from '../core/group.js';
import type { RoutingCounts } from '../core/port-router.js';
import { LABEL } from '../core/labels.js';
import type { HealthStatus, Member, MemberKind } from '../core/runtime.js';
import { formatSleepPlan } from '../core/sleep-plan.js';
import { planStart, type StartProblem } from '../core/start-order.js';
import type { WakeCause } from '../core/wake-cause.js';
import type { WakeOn } from '../core/wake-on.js';
import type { HistorySnapshot, WakeOutcome } from '../core/wake-history.js';
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
  /** Every group that uses it; more than one: a shared member, which sleeps only when all of them do. */
  readonly groups: readonly string[];
  /** What it waits for before it starts: `db:service_healthy`. */
  readonly dependsOn: readonly string[];
  readonly kind: MemberKind;
  /** A Swarm service: tasks running and desired. */
  readonly replicas?: { readonly running: number; readonly desired: number };
  /** A Swarm service: the nodes its tasks are on. */
  readonly nodes?: readonly string[];
}

export interface ListenerStatus {
  readonly port: number;
  /** The upstream is reached over the same protocol. */
  readonly protocol: 'tcp' | 'udp';
  /** null: every interface. */
  readonly bind: string | null;
  readonly upstream: string;
  /**
   * A TCP listener under a proxy: why connections to the upstream fail, when it is something to
   * fix (the host does not resolve, nothing listens on the port, it is the listener itself, the
   * member has no address); null once a connection gets through, or the upstream changes.
   */
  readonly problem?: string | null;
  /** A TCP port routed by name (shared, named with proxytainer.hostname/--hostname, or Minecraft): this group's part in it. */
  readonly routing?: RoutingStatus;
  /** A UDP listener under a proxy: its flows (one per client address:port) and datagrams since the proxy started. */
  readonly udp?: UdpListenerStatus;
}

export interface RoutingStatus {
  /** The names this group answers to on the port, as labelled; empty: it takes the names no other group claims (the fallback). */
  readonly hostnames: readonly string[];
  readonly fallback: boolean;
  /** Every group on the port, oldest claim first, this one included. */
  readonly groups: readonly string[];
  /** Minecraft handshakes are read: status pings answered while asleep, logins held. */
  readonly minecraft: boolean;
  /** Per port, so the same for every group on it: connections closed without waking anything, by why, and pings answered. null without a proxy. */
  readonly counts: RoutingCounts | null;
}

export interface UdpListenerStatus {
  readonly flows: number;
  /** Datagrams held now, waiting for the group to wake or the upstream to listen. */
  readonly held: number;
  /** Dropped since start: over the hold bound or --max-flows, a failed wake, an upstream that never took them. */
  readonly dropped: number;
  readonly datagrams: { readonly in: number; readonly out: number };
  readonly bytes: { readonly in: number; readonly out: number };
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
  readonly settings: {
    readonly idleSeconds: number;
    readonly health: boolean;
    readonly startTimeoutSeconds: number;
    /** How it sleeps: `stop`, `pause`, `pause,stop:1h`. */
    readonly sleep: string;
    /** Fewer bytes than this in an idle period count as idle; 0: any byte keeps it up. */
    readonly idleThresholdBytes: number;
    /** What wakes it while asleep: `connect`, or `data` (a client that sent wakeMinBytes). */
    readonly wakeOn?: WakeOn;
    readonly wakeMinBytes?: number;
    /** Networks whose clients may wake it (`10.0.0.0/8, ::1/128`); null: any. */
    readonly wakeFrom?: string | null;
    /** Networks whose clients are served at all; null: any. */
    readonly allowFrom?: string | null;
  } | null;
  /** Connections the wake rules closed since the proxy started, by rule; null without a proxy. */
  readonly turnedAway?: { readonly notAllowed: number; readonly outsideWakeFrom: number; readonly silent: number } | null;
  readonly problems: readonly LabelProblem[];
  /** When Idle: how its members sleep now, `paused` or `stopped`; null otherwise, or without a proxy. */
  readonly sleeping: 'paused' | 'stopped' | null;
  /** Member names in start order, one list per step (a step's members start together). */
  readonly startOrder: readonly (readonly string[])[];
  /** While Starting: what the wake is waiting for. */
  readonly waitingFor: string | null;
  /** Failed wakes in a row, and in how many seconds the next may begin (null: at once); null without a proxy. */
  readonly backoff: { readonly failures: number; readonly retryInSeconds: number | null } | null;
  /** The last wake since the proxy started: when, who or what woke it, how long it took, how it ended. null: none, or no proxy. */
  readonly lastWake?: WakeStatus | null;
  /** The last time the group went to sleep (reached Idle), and why. null: never since the proxy started, or no proxy. */
  readonly lastSleep?: SleepStatus | null;
  /** While Running under a proxy: what keeps it awake now, and when it sleeps. null otherwise. */
  readonly awake?: AwakeStatus | null;
  /** What the health endpoint (--metrics) answers for the group; null without a proxy. */
  readonly health?: GroupHealth | null;
}

export interface WakeStatus {
  /** ISO time the wake started. */
  readonly at: string;
  /** `connection from 203.0.113.7:51234 on port 443`, `wake command`, `start made outside proxytainer (every member is running)`. */
  readonly reason: string;
  readonly by: WakeCause;
  readonly result: WakeOutcome;
  /** From the start to ready (or to the failure); null while starting, and for a start made outside. */
  readonly durationSeconds: number | null;
  /** Why it failed or was cancelled. */
  readonly error: string | null;
  /** While starting: what it still waits for. */
  readonly waitingFor: string | null;
}

export interface SleepStatus {
  /** ISO time it reached Idle. */
  readonly at: string;
  /** `no traffic for 5m`, `sleep requested (proxytainer sleep)`, `web exited (exit code 0) (changed outside proxytainer)`, `wake failed: …`. */
  readonly reason: string;
  /** How the stop ended, when proxytainer stopped it: `every member stopped`, `stop failed: …`. */
  readonly outcome: string | null;
}

export interface AwakeStatus {
  /** Open connections (connecting included), and where they come from, as far as known (at most 20 listed). */
  readonly connections: { readonly open: number; readonly from: readonly string[] };
  /** What keeps the group awake now, in a phrase. */
  readonly keptAwakeBy: string;
  /** ISO time of the idle stop if nothing else happens. */
  readonly sleepsAt: string | null;
}

/** Most client addresses listed in `awake.connections.from`. */
const LISTED_PEERS = 20;

export function memberStatus(member: Member): MemberStatus {
  const status = {
    name: member.name,
    id: member.id.slice(0, 12),
    state: member.state,
    health: member.health,
    kind: member.kind ?? 'container',
    groups: member.groups,
    dependsOn: member.dependsOn.map((d) => `${d.name}:${d.condition}`),
  } as const;
  if (member.replicas === undefined) return status;
  const { running, desired, nodes } = member.replicas;
  return { ...status, replicas: { running, desired }, nodes };
}

/** The start order of members, by name, from the same plan a wake follows. */
function startOrderOf(members: readonly Member[]): string[][] {
  const names = new Map(members.map((m) => [m.id, m.name]));
  return planStart(members).layers.map((layer) => layer.map((id) => names.get(id) ?? id));
}

/** A member's declarations that could not be followed, as label problems of the group. */
function stackProblems(group: string, problems: readonly StartProblem[]): LabelProblem[] {
  return problems.map((p) => ({ container: p.member, label: LABEL.dependsOn, group, message: p.message }));
}

function membersOf(members: readonly Member[] | null): GroupStatus['members'] {
  const all = members ?? [];
  return { running: all.filter((m) => m.phase === 'running').length, total: all.length, list: all.map(memberStatus) };
}

function isoBefore(now: Date, msAgo: number): string {
  return new Date(now.getTime() - msAgo).toISOString();
}

/** What keeps a Running group awake, by the same rules as the idle check (src/core/group.ts). */
function keptAwakeBy(snapshot: GroupSnapshot): string {
  const connecting = Math.max(0, snapshot.connecting - snapshot.held);
  if (connecting > 0) return `${connecting} connection(s) being connected to the upstream`;
  if (snapshot.settings.connectionsKeepAwake && snapshot.open > 0) return `${snapshot.open} open connection(s) (open connections keep it awake)`;
  // No ages here ('2s ago'): lastActivity has the time, and status --watch reports a document when it changes.
  return `traffic within the idle period (${formatDuration(snapshot.settings.idleMs)}); it sleeps once none moves for that long`;
}

function awakeStatus(snapshot: GroupSnapshot, now: Date): AwakeStatus | null {
  if (snapshot.state !== 'Running') return null;
  return {
    connections: { open: snapshot.open + snapshot.connecting, from: snapshot.peers.slice(0, LISTED_PEERS) },
    keptAwakeBy: keptAwakeBy(snapshot),
    sleepsAt: snapshot.msUntilSleep === null ? null : isoBefore(now, -snapshot.msUntilSleep),
  };
}

function historyStatus(history: HistorySnapshot, now: Date): Pick<GroupStatus, 'lastWake' | 'lastSleep' | 'health'> {
  const { lastWake, lastSleep } = history;
  return {
    lastWake:
      lastWake === null
        ? null
        : {
            at: isoBefore(now, lastWake.msAgo),
            reason: lastWake.description,
            by: lastWake.cause,
            result: lastWake.result,
            durationSeconds: lastWake.durationMs === null ? null : Math.round(lastWake.durationMs) / 1000,
            error: lastWake.error,
            waitingFor: lastWake.waitingFor,
          },
    lastSleep: lastSleep === null ? null : { at: isoBefore(now, lastSleep.msAgo), reason: lastSleep.reason, outcome: lastSleep.outcome },
    health: history.health,
  };
}

/** A group as its proxy sees it. */
export function groupStatusFromSnapshot(
  snapshot: GroupSnapshot,
  proxyPid: number,
  listeners: readonly ListenerStatus[],
  problems: readonly LabelProblem[],
  now: Date,
  history: HistorySnapshot | null = null,
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
      sleep: formatSleepPlan(snapshot.settings.sleep),
      idleThresholdBytes: snapshot.settings.idleThresholdBytes,
      wakeOn: snapshot.settings.wakeOn,
      wakeMinBytes: snapshot.settings.wakeMinBytes,
      wakeFrom: snapshot.settings.wakeFrom?.text ?? null,
      allowFrom: snapshot.settings.allowFrom?.text ?? null,
    },
    turnedAway: snapshot.turnedAway,
    problems: [...problems.filter((p) => p.group === snapshot.name), ...stackProblems(snapshot.name, snapshot.problems)],
    sleeping: snapshot.sleeping === null ? null : snapshot.sleeping === 'pause' ? 'paused' : 'stopped',
    startOrder: snapshot.startOrder,
    waitingFor: snapshot.waitingFor,
    backoff: { failures: snapshot.backoff.failures, retryInSeconds: snapshot.backoff.msUntilRetry === null ? null : Math.ceil(snapshot.backoff.msUntilRetry / 1000) },
    ...(history === null ? { lastWake: null, lastSleep: null, health: null } : historyStatus(history, now)),
    awake: awakeStatus(snapshot, now),
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
    problems: [...problems.filter((p) => p.group === name), ...stackProblems(name, planStart(members).problems)],
    sleeping: null,
    startOrder: startOrderOf(members),
    waitingFor: null,
    backoff: null,
    lastWake: null,
    lastSleep: null,
    awake: null,
    health: null,
  };
}
