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
import { serviceAddress } from './service-address.js';
import { desiredReplicas, ENDED, serviceMember, unscalableReason } from './service-member.js';
import { updateService } from './service-update.js';
import { SwarmLookups } from './swarm-lookups.js';
import type { SwarmService, SwarmTask } from './swarm-types.js';
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

/**
 * Both ports over Swarm services: a service labelled proxytainer.group is a
 * member, it sleeps by scaling to 0 (the count it had is written into a
 * label in the same update) and wakes by scaling back. Changes come from the
 * engine's service events and its task containers' events; task states,
 * which have no events, are polled while a service is on its way up (woken
 * here, scaled up by hand, a task restarted) or down, and never otherwise.
 * An engine not in swarm mode answers 503: it simply has no services.
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
  private readonly lookups: SwarmLookups;
  /** Services whose tasks are being watched, by name. */
  private readonly watches = new Map<string, AbortController>();
  private readonly warned = new Set<string>();
  private followed = false;
  /** Whether the engine answered as a swarm manager the last time it was asked. */
  swarmActive = false;

  constructor(private readonly options: SwarmServicesOptions) {
    this.endpoint = options.endpoint;
    this.label = options.group === undefined ? LABEL.group : `${LABEL.group}=${options.group}`;
    this.poll = new TaskPoll(options.clock);
    this.lookups = new SwarmLookups(options.docker, options.ownContainer ?? ownContainerId);
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
      await this.lookups.learnNodes(tasks, signal);
      return withFanOut(signal, (each) =>
        Promise.all(
          usable.map(async (service) =>
            serviceMember({
              service,
              tasks: tasks.filter((task) => task.ServiceID === service.ID),
              nodeNames: this.lookups.names,
              healthChecked: await this.lookups.healthChecked(service, each),
            }),
          ),
        ),
      );
    });
  }

  async wake(member: Member, signal: AbortSignal): Promise<void> {
    await this.call(async () => {
      this.stopWatching(member.name);
      const service = await updateService(this.options.docker, member.id, signal, (spec) => {
        if (desiredReplicas(spec) > 0) return null; // up already, or on its way
        const { count, why } = wakeReplicas(spec.Labels ?? {});
        this.options.logger.debug(`scaling service ${spec.Name} to ${count} (${why})`);
        return { ...spec, Mode: { ...spec.Mode, Replicated: { Replicas: count } } };
      });
      if (service === null) throw new BackendError(`service ${member.name} no longer exists`);
      this.watchTasks(service.Spec.Name);
    });
  }

  /** A service cannot be paused: whatever the mode, it sleeps by scaling to 0. */
  async sleep(member: Member, options: { readonly mode: SleepMode; readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void> {
    await this.call(async () => {
      this.stopWatching(member.name);
      const service = await updateService(this.options.docker, member.id, signal, (spec) => {
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
          const networks = await this.lookups.networksOf(service);
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

  /** Where the service can be reached (service-address.ts says how it is found). */
  async address(name: string, signal: AbortSignal): Promise<string> {
    return this.call(() => serviceAddress(this.options.docker, this.lookups, name, signal));
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

  private stopWatching(name: string): void {
    this.watches.get(name)?.abort();
    this.watches.delete(name);
  }

  /**
   * Watches the tasks of a service on its way up (woken here, scaled up by
   * hand, a task restarted by Swarm) until they run, fail, or the service is
   * put back to sleep; each change reaches its groups. A watch already under
   * way looks again at once instead.
   */
  private watchTasks(name: string): void {
    if (!this.followed) return; // a one-off command (wake --no-wait) that follows nothing
    if (this.watches.has(name)) {
      this.poll.poke(name);
      return;
    }
    const controller = new AbortController();
    this.watches.set(name, controller);
    let last = '';
    const look = async (): Promise<boolean> => {
      const member = await this.readOne(name, controller.signal);
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
        if (this.watches.get(name) === controller) this.watches.delete(name);
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
  private async readOne(name: string, signal: AbortSignal): Promise<Member | null> {
    let service: SwarmService;
    try {
      service = (await this.options.docker.getService(name).inspect({ abortSignal: signal })) as SwarmService;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
      throw error;
    }
    const tasks = await this.listTasks([service.ID], signal);
    await this.lookups.learnNodes(tasks, signal);
    return serviceMember({ service, tasks, nodeNames: this.lookups.names, healthChecked: await this.lookups.healthChecked(service, signal) });
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
        const now = this.remember(service);
        for (const group of now) groups.add(group);
        // Scaled up by hand, or created above 0: its tasks have no events of their own to say when they run.
        if (now.size > 0 && desiredReplicas(service.Spec) > 0) this.watchTasks(name);
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

  /**
   * A task's container started, turned healthy or ended on this node: its
   * task's state follows in a moment, so a member's tasks are watched (or
   * looked at again now) until they settle.
   */
  private afterTaskEvent(event: DockerEvent): void {
    const name = event.attributes[SERVICE_NAME_LABEL];
    if (name === undefined) return;
    this.poll.poke(name); // a sleep waiting for the tasks to end looks again too
    if (!this.groupsOf.has(name)) return;
    if (!this.watches.has(name)) this.watchTasks(name);
    this.emitFor(name, `${event.action} of a task of service ${name}`);
  }

  private emitFor(service: string, reason: string): void {
    for (const group of this.groupsOf.get(service) ?? []) this.emit({ group, reason });
  }

  private emit(change: RuntimeChange): void {
    for (const listener of this.runtimeListeners) listener(change);
  }
}
