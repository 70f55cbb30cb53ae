import type Docker from 'dockerode';
import { withFanOut } from '../core/abortable.js';
import type { Backend } from '../core/backend.js';
import type { CatalogEntry } from '../core/catalog.js';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { BackendError } from '../core/errors.js';
import { COMPOSE_LABEL, groupsOf, LABEL } from '../core/labels.js';
import type { Logger } from '../core/logger.js';
import type { HealthStatus, Member, MemberPhase, RuntimeChange, SleepMode } from '../core/runtime.js';
import { describeDockerError, dockerStatus } from './docker-error.js';
import { type ListedContainer, resolveStack, type StackMember } from './container-stack.js';
import { type DockerEvent, EventStream } from './event-stream.js';

/** Container events that can change whether a group is up, or who its members are. */
export const WATCHED_ACTIONS = ['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'destroy', 'rename', 'update', 'health_status'] as const;

/** Actions that may add or remove members or change their labels. */
const MEMBERSHIP_ACTIONS = new Set(['create', 'destroy', 'rename']);

export interface DockerBackendOptions {
  readonly docker: Docker;
  readonly endpoint: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Follow only this group's containers (static mode, one-group commands); undefined follows every labelled container. */
  readonly group?: string | undefined;
}

/**
 * Docker's container states in the core's words: the one place they are
 * read. `restarting` is on its way up by itself; `created`, `exited`, `dead`
 * and `removing` are all asleep as far as a wake is concerned.
 */
export function phaseOf(state: string): MemberPhase {
  switch (state) {
    case 'running':
      return 'running';
    case 'restarting':
      return 'starting';
    case 'paused':
      return 'paused';
    default:
      return 'stopped';
  }
}

/** What Docker reports as the start and end times of a container that never ran. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function toHealth(status: string | undefined): HealthStatus {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
}

/** How a container that ended did, in a phrase: `web exited (exit code 3) 500ms after start`. */
function describeEnd(name: string, state: Docker.ContainerInspectInfo['State']): string {
  const ran = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
  const after = Number.isFinite(ran) && ran >= 0 ? ` ${formatDuration(ran)} after start` : '';
  return `${name} ${state.Status === 'dead' ? 'is dead' : 'exited'} (exit code ${state.ExitCode})${after}`;
}

function toMember(info: Docker.ContainerInspectInfo, stack: StackMember): Member {
  const name = info.Name.replace(/^\//, '');
  const state = info.State.Status;
  const running = info.State.Running;
  const ended = (state === 'exited' || state === 'dead') && info.State.StartedAt !== ZERO_TIME;
  return {
    id: info.Id,
    name,
    phase: phaseOf(state),
    // A stopped container reads `unhealthy` with no event; health only means something while it runs.
    health: running ? toHealth(info.State.Health?.Status) : 'none',
    state,
    detail: ended ? describeEnd(name, info.State) : `${name} is ${state}`,
    exitCode: ended ? info.State.ExitCode : null,
    groups: stack.groups,
    dependsOn: stack.dependsOn,
  };
}

function listed(summary: Docker.ContainerInfo): ListedContainer {
  return { id: summary.Id, name: (summary.Names[0] ?? summary.Id.slice(0, 12)).replace(/^\//, ''), labels: summary.Labels };
}

/** A container name as an exact match for Docker's `name` filter, which otherwise matches substrings. */
function exactName(name: string): string {
  return `^/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

/** A Docker API call that treats the given HTTP statuses (304 already done, 404 gone) as success. */
async function tolerating(statuses: readonly number[], call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    const status = dockerStatus(error);
    if (status === undefined || !statuses.includes(status)) throw error;
  }
}

/**
 * Both ports over the Docker Engine API: members are containers found by
 * label, changes come from the events stream, and a member sleeps by stop
 * or pause.
 */
export class DockerBackend implements Backend {
  readonly endpoint: string;
  private readonly runtimeListeners = new Set<(change: RuntimeChange) => void>();
  private readonly membershipListeners = new Set<(reason: string) => void>();
  private readonly events: EventStream;

  constructor(private readonly options: DockerBackendOptions) {
    this.endpoint = options.endpoint;
    // Every labelled container, also for one group: a member shared by several groups carries `a,b`, which no
    // label filter for one value matches; the groups are told apart here.
    this.events = new EventStream({
      docker: options.docker,
      endpoint: options.endpoint,
      clock: options.clock,
      logger: options.logger,
      filters: { type: ['container'], label: [LABEL.group], event: [...WATCHED_ACTIONS] },
      onEvent: (event) => {
        this.onEvent(event);
      },
      onConnected: () => {
        // Events may have been missed while disconnected: everything is read again.
        const reason = 'connected to the Docker events stream';
        for (const listener of this.membershipListeners) listener(reason);
        this.emit({ group: null, reason });
      },
    });
  }

  /** True while the events stream is connected. */
  get following(): boolean {
    return this.events.connected;
  }

  follow(): void {
    this.events.start();
  }

  async close(): Promise<void> {
    await this.events.stop();
  }

  describeGroup(group: string): string {
    return `containers labelled ${LABEL.group}=${group}`;
  }

  /** The group's members and what they depend on, however far, each inspected afresh. */
  async members(group: string, signal: AbortSignal): Promise<Member[]> {
    const { docker } = this.options;
    return this.call(async () => {
      const labelled = (await docker.listContainers({ all: true, filters: { label: [LABEL.group] }, abortSignal: signal })).map(listed);
      const stack = await resolveStack(group, labelled, (name, from) => this.lookup(name, from, signal));
      const inspected = await withFanOut(signal, (each) =>
        Promise.all(
          stack.map(async (member) => {
            try {
              return toMember(await docker.getContainer(member.container.id).inspect({ abortSignal: each }), member);
            } catch (error) {
              if (dockerStatus(error) === 404) return null; // removed since the listing
              throw error;
            }
          }),
        ),
      );
      return inspected.filter((member) => member !== null);
    });
  }

  /** A dependency the labelled containers do not hold: a compose service of the same project, else a container of that name. */
  private async lookup(name: string, from: ListedContainer, signal: AbortSignal): Promise<ListedContainer[]> {
    const { docker } = this.options;
    const project = from.labels[COMPOSE_LABEL.project];
    if (project !== undefined) {
      const services = await docker.listContainers({ all: true, filters: { label: [`${COMPOSE_LABEL.project}=${project}`, `${COMPOSE_LABEL.service}=${name}`] }, abortSignal: signal });
      if (services.length > 0) return services.map(listed);
    }
    return (await docker.listContainers({ all: true, filters: { name: [exactName(name)] }, abortSignal: signal })).map(listed);
  }

  async wake(member: Member, signal: AbortSignal): Promise<void> {
    const container = this.options.docker.getContainer(member.id);
    await this.call(() =>
      member.phase === 'paused'
        ? tolerating([304], () => container.unpause({ abortSignal: signal }))
        : tolerating([304], () => container.start({ abortSignal: signal })),
    );
  }

  async sleep(member: Member, options: { readonly mode: SleepMode; readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void> {
    const container = this.options.docker.getContainer(member.id);
    const query = options.timeoutSeconds === undefined ? {} : { t: options.timeoutSeconds };
    await this.call(async () => {
      if (options.mode === 'pause') {
        // 409: it is not running (stopped meanwhile, or already paused): asleep either way.
        await tolerating([304, 404, 409], () => container.pause({ abortSignal: signal }));
        return;
      }
      // A frozen process never sees SIGTERM: Docker would wait the whole stop timeout and SIGKILL it. Thaw it first.
      if (member.phase === 'paused') await tolerating([304, 404, 409], () => container.unpause({ abortSignal: signal }));
      await tolerating([304, 404], () => container.stop({ ...query, abortSignal: signal }));
    });
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    this.runtimeListeners.add(listener);
    return () => this.runtimeListeners.delete(listener);
  }

  /** Every container carrying the group label (or a member of this backend's one group), running or not. */
  async list(signal: AbortSignal): Promise<CatalogEntry[]> {
    const only = this.options.group;
    return this.call(async () => {
      const all = await this.options.docker.listContainers({ all: true, filters: { label: [LABEL.group] }, abortSignal: signal });
      const list = only === undefined ? all : all.filter((c) => groupsOf(c.Labels[LABEL.group] ?? '').includes(only));
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
        created: c.Created,
        labels: c.Labels,
        hostNetwork: c.HostConfig.NetworkMode === 'host',
      }));
    });
  }

  /**
   * Where a running container can be reached: 127.0.0.1 on the host network,
   * otherwise its address on its first network (`container:x` follows x).
   */
  async address(name: string, signal: AbortSignal): Promise<string> {
    const { docker } = this.options;
    const info = await this.call(async () => {
      const own = await docker.getContainer(name).inspect({ abortSignal: signal });
      const mode = own.HostConfig.NetworkMode ?? '';
      // network_mode: service:x / container:x shares x's network namespace, and so its address.
      return mode.startsWith('container:') ? docker.getContainer(mode.slice('container:'.length)).inspect({ abortSignal: signal }) : own;
    });
    if (info.HostConfig.NetworkMode === 'host') return '127.0.0.1';
    const networks = Object.entries(info.NetworkSettings.Networks);
    const address = networks.map(([, network]) => network.IPAddress).find((ip) => ip !== '');
    if (address === undefined) {
      const where = networks.length === 0 ? 'any network' : networks.map(([n]) => n).join(', ');
      throw new BackendError(`${info.Name.replace(/^\//, '')} has no address on ${where}${info.State.Running ? '' : ' (it is not running)'}`);
    }
    return address;
  }

  onMembershipChange(listener: (reason: string) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  /** Runs a Docker API call; its error becomes one line that names the endpoint. */
  private async call<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw new BackendError(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  private onEvent(event: DockerEvent): void {
    const who = event.attributes['name'] ?? event.id.slice(0, 12);
    if (MEMBERSHIP_ACTIONS.has(event.action)) for (const listener of this.membershipListeners) listener(`${event.action} of ${who}`);
    for (const group of groupsOf(event.attributes[LABEL.group] ?? '')) this.emit({ group, reason: `${event.action} of ${who}` });
  }

  private emit(change: RuntimeChange): void {
    for (const listener of this.runtimeListeners) listener(change);
  }
}
