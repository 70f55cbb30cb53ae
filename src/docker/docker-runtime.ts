import type Docker from 'dockerode';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { HealthStatus, Member, Runtime, RuntimeChange } from '../core/runtime.js';
import { describeDockerError, dockerStatus } from './docker-error.js';
import type { LabelledContainer } from '../discovery/labels.js';
import { type DockerEvent, EventStream } from './event-stream.js';

export const GROUP_LABEL = 'proxytainer.group';

/** Container events that can change whether a group is up, or who its members are. */
export const WATCHED_ACTIONS = ['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'destroy', 'rename', 'update', 'health_status'] as const;

export interface DockerRuntimeOptions {
  readonly docker: Docker;
  readonly endpoint: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Follow only this group's containers (static mode); undefined follows every labelled container. */
  readonly group?: string | undefined;
}

function toHealth(status: string | undefined): HealthStatus {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
}

function toMember(info: Docker.ContainerInspectInfo): Member {
  const running = info.State.Running;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    state: info.State.Status,
    // A stopped container reads `unhealthy` with no event; health only means something while it runs.
    health: running ? toHealth(info.State.Health?.Status) : 'none',
    exitCode: running ? null : info.State.ExitCode,
    labels: info.Config.Labels,
  };
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

/** The core's Runtime over the Docker Engine API: members by label, changes from the events stream. */
export class DockerRuntime implements Runtime {
  readonly endpoint: string;
  private readonly listeners = new Set<(change: RuntimeChange) => void>();
  private readonly eventListeners = new Set<(event: DockerEvent) => void>();
  private readonly events: EventStream;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.endpoint = options.endpoint;
    const label = options.group === undefined ? GROUP_LABEL : `${GROUP_LABEL}=${options.group}`;
    this.events = new EventStream({
      docker: options.docker,
      endpoint: options.endpoint,
      clock: options.clock,
      logger: options.logger,
      filters: { type: ['container'], label: [label], event: [...WATCHED_ACTIONS] },
      onEvent: (event) => {
        this.onEvent(event);
      },
      onConnected: () => {
        this.emit({ group: null, reason: 'connected to the Docker events stream' });
      },
    });
  }

  get docker(): Docker {
    return this.options.docker;
  }

  /** True while the events stream is connected. */
  get following(): boolean {
    return this.events.connected;
  }

  /** Starts following Docker events. */
  follow(): void {
    this.events.start();
  }

  async close(): Promise<void> {
    await this.events.stop();
  }

  describeGroup(group: string): string {
    return `containers labelled ${GROUP_LABEL}=${group}`;
  }

  async members(group: string, signal: AbortSignal): Promise<Member[]> {
    const { docker } = this.options;
    try {
      const list = await docker.listContainers({ all: true, filters: { label: [`${GROUP_LABEL}=${group}`] }, abortSignal: signal });
      const inspected = await Promise.all(
        list.map(async (summary) => {
          try {
            return await docker.getContainer(summary.Id).inspect({ abortSignal: signal });
          } catch (error) {
            if (dockerStatus(error) === 404) return null; // removed since the listing
            throw error;
          }
        }),
      );
      return inspected.filter((info) => info !== null).map(toMember);
    } catch (error) {
      throw new Error(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  async start(member: Member, signal: AbortSignal): Promise<void> {
    const container = this.options.docker.getContainer(member.id);
    try {
      if (member.state === 'paused') await tolerating([304], () => container.unpause({ abortSignal: signal }));
      else await tolerating([304], () => container.start({ abortSignal: signal }));
    } catch (error) {
      throw new Error(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  async stop(member: Member, options: { readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void> {
    const container = this.options.docker.getContainer(member.id);
    const query = options.timeoutSeconds === undefined ? {} : { t: options.timeoutSeconds };
    try {
      await tolerating([304, 404], () => container.stop({ ...query, abortSignal: signal }));
    } catch (error) {
      throw new Error(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  /** Every container carrying the group label (or this runtime's one group), running or not. */
  async labelledContainers(signal: AbortSignal): Promise<LabelledContainer[]> {
    const label = this.options.group === undefined ? GROUP_LABEL : `${GROUP_LABEL}=${this.options.group}`;
    try {
      const list = await this.options.docker.listContainers({ all: true, filters: { label: [label] }, abortSignal: signal });
      return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''), created: c.Created, labels: c.Labels }));
    } catch (error) {
      throw new Error(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  /**
   * Where a running member can be reached: 127.0.0.1 on the host network,
   * otherwise its address on its first network. Asked afresh at every wake,
   * because a restarted container may get a new address.
   */
  async memberAddress(id: string, signal: AbortSignal): Promise<string> {
    const { docker } = this.options;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.getContainer(id).inspect({ abortSignal: signal });
      const mode = info.HostConfig.NetworkMode ?? '';
      // network_mode: service:x / container:x shares x's network namespace, and so its address.
      if (mode.startsWith('container:')) info = await docker.getContainer(mode.slice('container:'.length)).inspect({ abortSignal: signal });
    } catch (error) {
      throw new Error(describeDockerError(error, this.endpoint), { cause: error });
    }
    const name = info.Name.replace(/^\//, '');
    if (info.HostConfig.NetworkMode === 'host') return '127.0.0.1';
    const networks = Object.entries(info.NetworkSettings.Networks);
    const address = networks.map(([, network]) => network.IPAddress).find((ip) => ip !== '');
    if (address === undefined) {
      throw new Error(`${name} has no address on ${networks.length === 0 ? 'any network' : networks.map(([n]) => n).join(', ')}${info.State.Running ? '' : ' (it is not running)'}`);
    }
    return address;
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Raw container events, for discovery. */
  onContainerEvent(listener: (event: DockerEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private onEvent(event: DockerEvent): void {
    for (const listener of this.eventListeners) listener(event);
    const group = event.attributes[GROUP_LABEL];
    if (group === undefined) return;
    this.emit({ group, reason: `${event.action} of ${event.attributes['name'] ?? event.id.slice(0, 12)}` });
  }

  private emit(change: RuntimeChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
