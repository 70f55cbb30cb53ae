/**
 * The port through which the core drives containers. Docker implements it in
 * src/docker; tests implement it with fakes. It speaks only these types, so a
 * Swarm or Podman backend is a new adapter, not an edit to the core.
 */

/** Docker's container states, plus whatever a newer engine may add. */
export type MemberState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead' | (string & {});

/** `none` means the member has no healthcheck. */
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One container of a group, as the runtime last saw it. */
export interface Member {
  readonly id: string;
  readonly name: string;
  readonly state: MemberState;
  readonly health: HealthStatus;
  /** Exit code of the last run, when the member is not running. */
  readonly exitCode: number | null;
  readonly labels: Readonly<Record<string, string>>;
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
  /** The group's members now, found afresh (never cached: recreated containers get new IDs). */
  members(group: string, signal: AbortSignal): Promise<Member[]>;
  /** Makes the member run. Already running is success. */
  start(member: Member, signal: AbortSignal): Promise<void>;
  /** Stops the member. Already stopped, or gone, is success. */
  stop(member: Member, options: { readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void>;
  /** Calls `listener` whenever members may have changed; returns an unsubscribe function. */
  subscribe(listener: (change: RuntimeChange) => void): () => void;
}
