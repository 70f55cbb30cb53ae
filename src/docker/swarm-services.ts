import type Docker from 'dockerode';
import { withFanOut } from '../core/abortable.js';
import type { Backend } from '../core/backend.js';
import type { CatalogEntry } from '../core/catalog.js';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { BackendError, describeError } from '../core/errors.js';
import { LABEL } from '../core/labels.js';
import type { Logger } from '../core/logger.js';
import type { Member, RuntimeChange, SleepMode } from '../core/runtime.js';
import { describeDockerError, dockerStatus } from './docker-error.js';
import { type DockerEvent, EventStream } from './event-stream.js';
import { ownContainerId } from './self-container.js';
import { desiredReplicas, serviceMember, specHealthCheck, unscalableReason } from './service-member.js';
import type { SwarmNode, SwarmService, SwarmServiceSpec, SwarmTask } from './swarm-types.js';
import { TaskPoll } from './task-poll.js';
import { REMEMBERED_REPLICAS_LABEL, wakeReplicas } from './wake-replicas.js';

/** The label Swarm puts on every task's container: which service it belongs to. */
const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
/** Container events of a task that say it came up, turned healthy or ended. */
const TASK_ACTIONS = ['start', 'die', 'health_status'] as const;
/** A wake's watch ends after this long at the latest; the group's start timeout ends the wake itself sooner. */
const WATCH_LIMIT_MS = 10 * 60_000;
/** A sleep waits this long past the service's stop grace period for its tasks to end. */
const STOP_MARGIN_MS = 15_000;
/** Docker's stop grace period when a service sets none. */
const DEFAULT_GRACE_SECONDS = 10;
/** Tries of an update that lost a race with another update of the same service. */
const UPDATE_TRIES = 5;

/** Task states of a task that is over. */
const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

export interface SwarmServicesOptions {
  readonly docker: Docker;
  readonly endpoint: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Follow only this group's services (static mode, one-group commands); undefined follows every labelled service. */
  readonly group?: string | undefined;
  /** The container this process runs in, to tell which networks it shares with a service; from /proc by default. */
  readonly ownContainer?: () => Promise<string | null>;
}

interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
}

/** An update that lost a race with another one: read the service again and retry. */
function outOfSequence(error: unknown): boolean {
  return dockerStatus(error) !== undefined && /out of sequence/i.test(describeDockerError(error, ''));
}

/**
 * Both ports over Swarm services: a service labelled proxytainer.group is a
 * member, it sleeps by scaling to 0 (the count it had is written into a
 * label in the same update) and wakes by scaling back. Changes come from the
 * engine's service events and its task containers' events; task states,
 * which have no events, are polled while a wake or a sleep is in progress,
 * and never otherwise. An engine not in swarm mode answers 503: it simply
 * has no services.
 */
export class SwarmServices implements Backend {
  readonly endpoint: string;
  private readonly runtimeListeners = new Set<(change: RuntimeChange) => void>();
  private readonly membershipListeners = new Set<(reason: string) => void>();
  private readonly serviceEvents: EventStream;
  private readonly taskEvents: EventStream;
  private readonly poll: TaskPoll;
  private readonly label: string;
  private readonly lifetime = new AbortController();
  /** Service name to the groups it was last seen in, so events (which carry no labels) reach their groups. */
  private readonly groupsOf = new Map<string, ReadonlySet<string>>();
  private readonly nodeNames = new Map<string, string>();
  private readonly nodeAddresses = new Map<string, string>();
  private readonly imageHealth = new Map<string, boolean>();
  private readonly networks = new Map<string, NetworkInfo>();
  private readonly watches = new Map<string, AbortController>();
  private readonly warned = new Set<string>();
  private localNode: string | null = null;
  private followed = false;
  /** Whether the engine answered as a swarm manager the last time it was asked. */
  swarmActive = false;

  constructor(private readonly options: SwarmServicesOptions) {
    this.endpoint = options.endpoint;
    this.label = options.group === undefined ? LABEL.group : `${LABEL.group}=${options.group}`;
    this.poll = new TaskPoll(options.clock);
    const stream = { docker: options.docker, endpoint: options.endpoint, clock: options.clock, logger: options.logger };
    this.serviceEvents = new EventStream({
      ...stream,
      // Service events carry only the name (no labels), so they cannot be filtered by label on the engine's side.
      filters: { type: ['service'] },
      onEvent: (event) => {
        void this.afterServiceEvent(event);
      },
      onConnected: () => {
        const reason = 'connected to the Docker events stream (services)';
        for (const listener of this.membershipListeners) listener(reason);
        this.emit({ group: null, reason });
      },
    });
    this.taskEvents = new EventStream({
      ...stream,
      filters: { type: ['container'], label: ['com.docker.swarm.service.id'], event: [...TASK_ACTIONS] },
      onEvent: (event) => {
        this.afterTaskEvent(event);
      },
      onConnected: () => undefined,
    });
  }

  follow(): void {
    this.followed = true;
    this.serviceEvents.start();
    this.taskEvents.start();
  }

  async close(): Promise<void> {
    this.followed = false;
    this.lifetime.abort(new Error('closed'));
    for (const watch of this.watches.values()) watch.abort();
    await Promise.all([this.serviceEvents.stop(), this.taskEvents.stop()]);
  }

  describeGroup(group: string): string {
    return `Swarm services labelled ${LABEL.group}=${group}`;
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    this.runtimeListeners.add(listener);
    return () => this.runtimeListeners.delete(listener);
  }

  onMembershipChange(listener: (reason: string) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  async members(group: string, signal: AbortSignal): Promise<Member[]> {
    return this.call(async () => {
      const services = await this.listServices(`${LABEL.group}=${group}`, signal);
      const usable = services.filter((service) => {
        const why = unscalableReason(service.Spec);
        if (why !== null && !this.warned.has(service.ID)) {
          this.warned.add(service.ID);
          this.options.logger.warn(`${why}; it is left out of group ${group}`);
        }
        return why === null;
      });
      if (usable.length === 0) return [];
      const tasks = await this.listTasks(usable.map((service) => service.ID), signal);
      await this.learnNodes(tasks, signal);
      return withFanOut(signal, (each) =>
        Promise.all(
          usable.map(async (service) =>
            serviceMember({
              service,
              tasks: tasks.filter((task) => task.ServiceID === service.ID),
              nodeNames: this.nodeNames,
              healthChecked: await this.healthChecked(service, each),
            }),
          ),
        ),
      );
    });
  }

  async wake(member: Member, signal: AbortSignal): Promise<void> {
    await this.call(async () => {
      this.watches.get(member.id)?.abort();
      const service = await this.update(member.id, signal, (spec) => {
        if (desiredReplicas(spec) > 0) return null; // up already, or on its way
        const { count, why } = wakeReplicas(spec.Labels ?? {});
        this.options.logger.debug(`scaling service ${spec.Name} to ${count} (${why})`);
        return { ...spec, Mode: { ...spec.Mode, Replicated: { Replicas: count } } };
      });
      if (service === null) throw new BackendError(`service ${member.name} no longer exists`);
      this.watchWake(service);
    });
  }

  /** A service cannot be paused: whatever the mode, it sleeps by scaling to 0. */
  async sleep(member: Member, options: { readonly mode: SleepMode; readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void> {
    await this.call(async () => {
      this.watches.get(member.id)?.abort();
      const service = await this.update(member.id, signal, (spec) => {
        const current = desiredReplicas(spec);
        if (current === 0) return null;
        return { ...spec, Labels: { ...spec.Labels, [REMEMBERED_REPLICAS_LABEL]: String(current) }, Mode: { ...spec.Mode, Replicated: { Replicas: 0 } } };
      });
      if (service !== null) await this.waitStopped(service, options.timeoutSeconds, signal);
    });
  }

  async list(signal: AbortSignal): Promise<CatalogEntry[]> {
    return this.call(async () => {
      const services = await this.listServices(this.label, signal);
      return Promise.all(
        services.map(async (service): Promise<CatalogEntry> => {
          const why = unscalableReason(service.Spec);
          const networks = await this.networksOf(service);
          return {
            id: service.ID,
            name: service.Spec.Name,
            created: Date.parse(service.CreatedAt) / 1000,
            labels: service.Spec.Labels ?? {},
            hostNetwork: networks.some((network) => network.driver === 'host'),
            kind: 'service',
            ...(why === null ? {} : { unsupported: why }),
          };
        }),
      );
    });
  }

  /**
   * Where the service can be reached. On the host network: 127.0.0.1 when
   * its task runs on this engine's node, else that node's address. On an
   * overlay network this process is also on: the service's name, which
   * Swarm's DNS answers with its virtual IP (or its tasks' addresses, with
   * endpoint mode dnsrr), looked up at each connect. Otherwise it says why
   * none can be found, and how to fix that.
   */
  async address(name: string, signal: AbortSignal): Promise<string> {
    const { docker } = this.options;
    return this.call(async () => {
      const service = (await docker.getService(name).inspect({ abortSignal: signal })) as SwarmService;
      const networks = await this.networksOf(service);
      if (networks.some((network) => network.driver === 'host')) return this.hostNetworkAddress(service, signal);
      const own = await this.ownNetworks(signal);
      if (networks.some((network) => own.ids.has(network.id))) return name;
      const on = networks.length === 0 ? 'no network of its own' : `network ${networks.map((network) => network.name).join(', ')}`;
      throw new BackendError(
        `service ${name} shares no network with proxytainer (${name} is on ${on}; ${own.where}): ` +
          `attach both to one overlay network (docker service update --network-add NET), or set ${LABEL.upstream}=HOST:PORT (a published port, say)`,
      );
    });
  }

  private async hostNetworkAddress(service: SwarmService, signal: AbortSignal): Promise<string> {
    const tasks = await this.listTasks([service.ID], signal);
    const running = tasks.filter((task) => task.DesiredState === 'running' && task.Status.State === 'running' && task.NodeID !== undefined);
    if (running.length === 0) throw new BackendError(`service ${service.Spec.Name} is on the host network and has no running task to reach`);
    await this.learnNodes(running, signal);
    const local = await this.localNodeId(signal);
    if (running.some((task) => task.NodeID === local)) return '127.0.0.1';
    const address = this.nodeAddresses.get(running[0]?.NodeID ?? '');
    if (address === undefined || address === '') throw new BackendError(`service ${service.Spec.Name} runs on a node whose address Swarm does not report`);
    return address;
  }

  /** Runs Docker API calls; an error becomes one line that names the endpoint. */
  private async call<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw new BackendError(describeDockerError(error, this.endpoint), { cause: error });
    }
  }

  /** Services carrying `label`; none on an engine that is not a swarm manager (it answers 503). */
  private async listServices(label: string, signal: AbortSignal): Promise<SwarmService[]> {
    try {
      const services = (await this.options.docker.listServices({ filters: { label: [label] }, abortSignal: signal })) as unknown as SwarmService[];
      this.swarmActive = true;
      for (const service of services) this.remember(service);
      return services;
    } catch (error) {
      if (dockerStatus(error) !== 503) throw error;
      this.swarmActive = false;
      return [];
    }
  }

  private async listTasks(serviceIds: readonly string[], signal: AbortSignal): Promise<SwarmTask[]> {
    return (await this.options.docker.listTasks({ filters: { service: [...serviceIds] }, abortSignal: signal })) as SwarmTask[];
  }

  /** Which groups a service belongs to, by its labels now; kept so later events reach them. */
  private remember(service: SwarmService): ReadonlySet<string> {
    const group = service.Spec.Labels?.[LABEL.group];
    const groups = new Set(group !== undefined && (this.options.group === undefined || group === this.options.group) ? [group] : []);
    if (groups.size > 0) this.groupsOf.set(service.Spec.Name, groups);
    else this.groupsOf.delete(service.Spec.Name);
    return groups;
  }

  /** Node names (for status) and addresses (to reach host-network tasks), read again when a task is on a node not seen yet. */
  private async learnNodes(tasks: readonly SwarmTask[], signal: AbortSignal): Promise<void> {
    if (tasks.every((task) => task.NodeID === undefined || task.NodeID === '' || this.nodeNames.has(task.NodeID))) return;
    const nodes = (await this.options.docker.listNodes({ abortSignal: signal })) as SwarmNode[];
    for (const node of nodes) {
      this.nodeNames.set(node.ID, node.Description?.Hostname ?? node.ID.slice(0, 12));
      this.nodeAddresses.set(node.ID, node.Status?.Addr ?? '');
    }
  }

  private async localNodeId(signal: AbortSignal): Promise<string> {
    if (this.localNode === null) {
      const { docker } = this.options;
      // @types/dockerode omits the options dockerode takes here.
      const info = (await (docker.info as (options: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, { abortSignal: signal })) as { Swarm?: { NodeID?: string } };
      this.localNode = info.Swarm?.NodeID ?? '';
    }
    return this.localNode;
  }

  /** The service's health check, or its image's where the service leaves it to the image (looked up once per image). */
  private async healthChecked(service: SwarmService, signal: AbortSignal): Promise<boolean> {
    const own = specHealthCheck(service);
    if (own !== undefined) return own;
    const image = service.Spec.TaskTemplate?.ContainerSpec?.Image;
    if (image === undefined) return false;
    const known = this.imageHealth.get(image);
    if (known !== undefined) return known;
    try {
      const info = await this.options.docker.getImage(image).inspect({ abortSignal: signal } as object);
      const test = (info.Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test ?? [];
      const checked = test.length > 0 && test[0] !== 'NONE';
      this.imageHealth.set(image, checked);
      return checked;
    } catch (error) {
      // Not on this node (it may be on the others): Swarm still waits for its health check; status just cannot say.
      if (dockerStatus(error) === 404) this.imageHealth.set(image, false);
      return false;
    }
  }

  /** The networks a service's tasks join, each looked up once. */
  private async networksOf(service: SwarmService): Promise<NetworkInfo[]> {
    const targets = [...(service.Spec.TaskTemplate?.Networks ?? service.Spec.Networks ?? [])].map((n) => n.Target).filter((t) => t !== undefined);
    const found = await Promise.all(
      targets.map(async (target) => {
        const known = this.networks.get(target);
        if (known !== undefined) return known;
        try {
          // Not abortable in dockerode; asked once per network, and quick.
          const info = await this.options.docker.getNetwork(target).inspect();
          const network = { id: info.Id, name: info.Name, driver: info.Driver };
          this.networks.set(target, network);
          return network;
        } catch (error) {
          if (dockerStatus(error) === 404) return null;
          throw error;
        }
      }),
    );
    return found.filter((network) => network !== null);
  }

  /** The networks this process's own container is on, and a phrase saying where it runs. */
  private async ownNetworks(signal: AbortSignal): Promise<{ readonly ids: ReadonlySet<string>; readonly where: string }> {
    const id = await (this.options.ownContainer ?? ownContainerId)();
    if (id === null) return { ids: new Set(), where: 'proxytainer runs outside any container, so it can reach no overlay network' };
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.options.docker.getContainer(id).inspect({ abortSignal: signal });
    } catch (error) {
      if (dockerStatus(error) === 404) return { ids: new Set(), where: 'proxytainer runs in a container this engine does not know (another node?)' };
      throw error;
    }
    if (info.HostConfig.NetworkMode === 'host') return { ids: new Set(), where: 'proxytainer is on the host network' };
    const networks = Object.entries(info.NetworkSettings.Networks);
    return {
      ids: new Set(networks.map(([, network]) => network.NetworkID)),
      where: `proxytainer is on ${networks.length === 0 ? 'no network' : networks.map(([name]) => name).join(', ')}`,
    };
  }

  /**
   * Changes the service's spec: `change` gets the spec as it is now and
   * returns the new one, or null to leave it. An update that races another
   * one is retried on a fresh reading. Resolves with the service as read
   * last, or null when it no longer exists.
   */
  private async update(id: string, signal: AbortSignal, change: (spec: SwarmServiceSpec) => SwarmServiceSpec | null): Promise<SwarmService | null> {
    const { docker } = this.options;
    for (let attempt = 1; ; attempt++) {
      let service: SwarmService;
      try {
        service = (await docker.getService(id).inspect({ abortSignal: signal })) as SwarmService;
      } catch (error) {
        if (dockerStatus(error) === 404) return null;
        throw error;
      }
      const why = unscalableReason(service.Spec);
      if (why !== null) throw new BackendError(why);
      const spec = change(service.Spec);
      if (spec === null) return service;
      try {
        // The version in the query, the spec as the body: dockerode would put every spec field into the query as well.
        await docker.getService(id).update({ _query: { version: service.Version.Index }, _body: spec, abortSignal: signal });
        return service;
      } catch (error) {
        if (!outOfSequence(error) || attempt >= UPDATE_TRIES) throw error;
      }
    }
  }

  /** Watches the tasks of a service being woken until they run, fail, or it is put back to sleep; each change reaches its groups. */
  private watchWake(service: SwarmService): void {
    if (!this.followed) return; // a one-off command (wake --no-wait) that follows nothing
    const controller = new AbortController();
    this.watches.set(service.ID, controller);
    const name = service.Spec.Name;
    let last = '';
    const look = async (): Promise<boolean> => {
      const member = await this.readOne(service.ID, controller.signal);
      if (member === null) return true;
      const seen = `${member.phase} ${member.detail}`;
      if (seen !== last) {
        last = seen;
        this.emitFor(name, `tasks of service ${name}: ${member.detail}`);
      }
      return member.phase !== 'starting' || member.failing === true;
    };
    void this.poll
      .until(name, look, WATCH_LIMIT_MS, controller.signal)
      .catch((error: unknown) => {
        if (!controller.signal.aborted) this.options.logger.debug(`stopped watching the tasks of service ${name}: ${describeError(error)}`);
      })
      .finally(() => {
        if (this.watches.get(service.ID) === controller) this.watches.delete(service.ID);
      });
  }

  /** Waits until no task of a service scaled to 0 runs any more, up to its stop grace period and a margin. */
  private async waitStopped(service: SwarmService, timeoutSeconds: number | undefined, signal: AbortSignal): Promise<void> {
    const graceNs = service.Spec.TaskTemplate?.ContainerSpec?.StopGracePeriod;
    const graceMs = timeoutSeconds !== undefined ? timeoutSeconds * 1000 : graceNs !== undefined ? graceNs / 1e6 : DEFAULT_GRACE_SECONDS * 1000;
    const limitMs = graceMs + STOP_MARGIN_MS;
    let left = 0;
    const stopped = await this.poll.until(
      service.Spec.Name,
      async () => {
        const tasks = await this.listTasks([service.ID], signal);
        left = tasks.filter((task) => !ENDED.has(task.Status.State)).length;
        return left === 0;
      },
      limitMs,
      signal,
    );
    if (!stopped && !signal.aborted) throw new BackendError(`service ${service.Spec.Name} is scaled to 0, but ${left} task(s) still run after ${formatDuration(limitMs)}`);
  }

  /** One service as a member, read afresh; null when it is gone. */
  private async readOne(id: string, signal: AbortSignal): Promise<Member | null> {
    let service: SwarmService;
    try {
      service = (await this.options.docker.getService(id).inspect({ abortSignal: signal })) as SwarmService;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
      throw error;
    }
    const tasks = await this.listTasks([id], signal);
    await this.learnNodes(tasks, signal);
    return serviceMember({ service, tasks, nodeNames: this.nodeNames, healthChecked: await this.healthChecked(service, signal) });
  }

  /**
   * A service was created, updated (scaled, relabelled) or removed. Its
   * event names it but carries no labels, so it is read once to learn
   * whether it is, or was, a member; others cost that one read and no more.
   */
  private async afterServiceEvent(event: DockerEvent): Promise<void> {
    const name = event.attributes['name'] ?? event.id;
    const groups = new Set(this.groupsOf.get(name) ?? []);
    if (event.action !== 'remove') {
      try {
        const service = (await this.options.docker.getService(event.id).inspect({ abortSignal: this.lifetime.signal })) as SwarmService;
        for (const group of this.remember(service)) groups.add(group);
      } catch {
        // Removed since, or the engine went away: the events stream's reconnect reconciles everything.
      }
    } else {
      this.groupsOf.delete(name);
    }
    if (groups.size === 0 || this.lifetime.signal.aborted) return;
    const reason = `${event.action} of service ${name}`;
    for (const listener of this.membershipListeners) listener(reason);
    for (const group of groups) this.emit({ group, reason });
  }

  /** A task's container started, turned healthy or ended on this node: look at the tasks now. */
  private afterTaskEvent(event: DockerEvent): void {
    const name = event.attributes[SERVICE_NAME_LABEL];
    if (name === undefined) return;
    this.poll.poke(name);
    this.emitFor(name, `${event.action} of a task of service ${name}`);
  }

  private emitFor(service: string, reason: string): void {
    for (const group of this.groupsOf.get(service) ?? []) this.emit({ group, reason });
  }

  private emit(change: RuntimeChange): void {
    for (const listener of this.runtimeListeners) listener(change);
  }
}
