/**
 * The port through which the core drives a group's members. Docker implements
 * it in src/docker; tests implement it in memory. It speaks the core's own
 * words: how far up a member is, and how it is put to sleep and woken. What
 * those mean on a backend (start or unpause a container, scale a service) is
 * the adapter's business, so a new backend is a new adapter, not an edit here.
 */

/**
 * How far up a member is.
 * - `running`: up; whether it is ready also depends on its health.
 * - `starting`: on its way up by itself (restarting, tasks being scheduled).
 * - `paused`: asleep but kept in memory; it wakes in milliseconds.
 * - `stopped`: asleep or ended (never started, exited, scaled to zero).
 */
export type MemberPhase = 'running' | 'starting' | 'paused' | 'stopped';

/** `none` means the member has no health check. */
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** What a member is, in the backend's words: a container, or a Swarm service (a set of replicas). */
export type MemberKind = 'container' | 'service';

/** How a group goes to sleep: stop its members (memory freed), or pause them (memory kept, wakes fast). */
export type SleepMode = 'stop' | 'pause';

/** Compose's conditions for starting after a dependency. */
export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

/** A member this one must wait for before it starts. */
export interface Dependency {
  /** The id of the member depended on; null when the name finds none. */
  readonly id: string | null;
  /** The name as declared (a container, or a compose service), for messages. */
  readonly name: string;
  readonly condition: DependencyCondition;
}

/** One member of a group, as the runtime last saw it. */
export interface Member {
  readonly id: string;
  readonly name: string;
  readonly phase: MemberPhase;
  readonly health: HealthStatus;
  /** The backend's own word for its state, shown by `status`: `running`, `exited`, `paused`. */
  readonly state: string;
  /** What it is doing, in a phrase for messages: `web exited (exit code 3)`, `web is restarting`. */
  readonly detail: string;
  /** How its last run ended; null while it runs, or when it never ran. */
  readonly exitCode: number | null;
  /**
   * Every group that uses it: its own (a member may belong to several), and
   * those of members that depend on it. It sleeps only when all of them do.
   */
  readonly groups: readonly string[];
  /** What it waits for before it starts. */
  readonly dependsOn: readonly Dependency[];
  /** Absent: a container. Shown by `status`; the backend routes wake and sleep by it. */
  readonly kind?: MemberKind;
  /**
   * Set on a member that is on its way up by itself (`starting`) but cannot
   * get there as things stand, while the backend keeps trying: a Swarm
   * service whose tasks no node can take, or that fail as they start. A wake
   * fails at once with `detail` instead of waiting out its timeout, and the
   * member is put to sleep again so the backend stops trying.
   */
  readonly failing?: boolean;
  /** A member that runs as replicas (a Swarm service): how many run, how many are wanted, and on which nodes. */
  readonly replicas?: { readonly running: number; readonly desired: number; readonly nodes: readonly string[] };
}

/** Up, or on its way up by itself: waking it needs no call. */
export function isUp(member: Member): boolean {
  return member.phase === 'running' || member.phase === 'starting';
}

/** Something about a group's members may have changed; `group: null` means any group. */
export interface RuntimeChange {
  readonly group: string | null;
  readonly reason: string;
}

export interface Runtime {
  /** Human description of the backend endpoint, for messages (`unix:///var/run/docker.sock`). */
  readonly endpoint: string;
  /** How members of `group` are recognised, for messages (`containers labelled proxytainer.group=web`). */
  describeGroup(group: string): string;
  /**
   * The group's members now, found afresh (never cached: recreated containers
   * get new IDs), and every member they depend on outside the group.
   */
  members(group: string, signal: AbortSignal): Promise<Member[]>;
  /** Brings the member up from however it sleeps. Already up is success. */
  wake(member: Member, signal: AbortSignal): Promise<void>;
  /** Puts the member to sleep the given way. Already asleep, or gone, is success. */
  sleep(member: Member, options: { readonly mode: SleepMode; readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void>;
  /** Calls `listener` whenever members may have changed; returns an unsubscribe function. */
  subscribe(listener: (change: RuntimeChange) => void): () => void;
}
