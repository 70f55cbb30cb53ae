import { describePort } from '../core/address.js';
import type { Catalog } from '../core/catalog.js';
import type { GroupSettings } from '../core/group.js';
import { describeError } from '../core/errors.js';
import { LABEL } from '../core/labels.js';
import { fixedUpstream, type UpstreamSource } from '../core/upstream-source.js';
import type { Logger } from '../core/logger.js';
import { Listener } from '../core/listener.js';
import { protocolOf, type Proxy, type ProxyListener } from '../core/proxy.js';
import type { Route } from '../core/route.js';
import { SerialQueue } from '../core/serial-queue.js';
import { type DiscoveryPlan, describePlannedUpstream, listenerKey, type PlannedGroup, type PlannedListener, type PlannedRoute, planDiscovery } from './discovery-plan.js';
import type { LabelProblem } from './labels.js';

export interface DiscoveryOptions {
  readonly catalog: Catalog;
  readonly proxy: Proxy;
  readonly logger: Logger;
  /** Settings for groups whose labels do not say otherwise (from the command line). */
  readonly defaults: GroupSettings;
  readonly bind: string | undefined;
  /** How long a listener that goes away lets its open connections finish. */
  readonly graceMs: number;
}

function problemKey(problem: LabelProblem): string {
  return `${problem.container}\u0000${problem.label}\u0000${problem.message}`;
}

/** A group's settings: what its labels set, else the defaults (the command line's). */
export function settingsFor(group: PlannedGroup, defaults: GroupSettings): GroupSettings {
  return {
    ...defaults,
    idleMs: group.idleMs ?? defaults.idleMs,
    idleThresholdBytes: group.idleThresholdBytes ?? defaults.idleThresholdBytes,
    wakeOn: group.wakeOn ?? defaults.wakeOn,
    wakeMinBytes: group.wakeMinBytes ?? defaults.wakeMinBytes,
    wakeFrom: group.wakeFrom ?? defaults.wakeFrom,
    allowFrom: group.allowFrom ?? defaults.allowFrom,
    health: group.health ?? defaults.health,
    sleep: group.sleep ?? defaults.sleep,
  };
}

/**
 * Discovery mode: keeps the proxy's groups and listeners equal to what the
 * containers' labels declare. Every change is a reconcile from a fresh
 * listing, triggered by the catalog's membership changes, which include
 * every reconnect of its feed, so a missed event can never leave a stale or
 * missing listener.
 */
export class Discovery {
  /** By listenerKey: `8080/tcp`, `27015/udp`. */
  private readonly listeners = new Map<string, ProxyListener>();
  private readonly lifetime = new AbortController();
  private readonly queue: SerialQueue;
  private unsubscribe: (() => void) | null = null;
  private problems: readonly LabelProblem[] = [];
  private groups: DiscoveryPlan['groups'] = new Map();
  private reported = new Set<string>();
  private stopped = false;

  constructor(private readonly options: DiscoveryOptions) {
    this.queue = new SerialQueue((error) => {
      options.logger.error(`internal error while reconciling (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    });
  }

  /** Builds the listeners from the labels now, then follows changes. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.options.catalog.onMembershipChange((reason) => {
      this.reconcile(reason);
    });
    this.reconcile('startup');
    await this.queue.drained();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.lifetime.abort(new Error('discovery stopped'));
    await this.queue.drained();
  }

  /** Label and port problems found by the last reconcile, for `status`. */
  currentProblems(): readonly LabelProblem[] {
    return this.problems;
  }

  /** The group's own webhook (the proxytainer.webhook label) as the last reconcile read it. */
  webhookFor(group: string): URL | undefined {
    return this.groups.get(group)?.webhook;
  }

  /** Runs a reconcile after any in flight; a burst of changes costs one. */
  reconcile(reason: string): void {
    if (this.stopped) return;
    this.queue.coalesce('reconcile', async () => {
      if (!this.stopped) await this.reconcileNow(reason);
    });
  }

  private async reconcileNow(reason: string): Promise<void> {
    const { catalog, logger } = this.options;
    let plan: DiscoveryPlan;
    let services: ReadonlySet<string>;
    try {
      const entries = await catalog.list(this.lifetime.signal);
      services = new Set(entries.filter((entry) => entry.kind === 'service').map((entry) => entry.name));
      plan = planDiscovery(entries, { bind: this.options.bind });
    } catch (error) {
      if (!this.stopped) logger.warn(`cannot list labelled containers (${describeError(error)}); keeping the current listeners`);
      return;
    }
    logger.trace(`reconciling after ${reason}: ${plan.groups.size} group(s), ${plan.listeners.size} port(s)`);
    this.groups = plan.groups;
    this.applyGroups(plan);
    this.closeListeners(plan);
    const bindProblems = await this.openListeners(plan);
    await this.removeGroups(plan);
    this.report([...plan.problems, ...bindProblems], services);
    if (plan.groups.size === 0 && reason === 'startup') logger.info(`no containers labelled ${LABEL.group} yet; waiting for some`);
  }

  private settingsFor(group: PlannedGroup): GroupSettings {
    return settingsFor(group, this.options.defaults);
  }

  /**
   * The groups this proxy manages: those with a port to listen on. A group
   * without one is someone else's (a static-mode proxy, say); waking or
   * idle-stopping it from here would fight that proxy.
   */
  private managed(plan: DiscoveryPlan): PlannedGroup[] {
    const listening = new Set([...plan.listeners.values()].flatMap((listener) => listener.routes.map((route) => route.group)));
    return [...plan.groups.values()].filter((group) => listening.has(group.name));
  }

  private applyGroups(plan: DiscoveryPlan): void {
    const { proxy, logger } = this.options;
    for (const planned of this.managed(plan)) {
      const settings = this.settingsFor(planned);
      const existing = proxy.findGroup(planned.name);
      if (existing === undefined) {
        proxy.group(planned.name, settings);
        logger.info(`found group ${planned.name}: ${planned.members.join(', ')}`);
      } else {
        existing.updateSettings(settings);
      }
    }
  }

  /**
   * A TCP port stays open while any group claims it (its routes change in
   * place); a UDP port belongs to one group and is reopened when another
   * takes it over.
   */
  private closeListeners(plan: DiscoveryPlan): void {
    const { proxy, logger, graceMs } = this.options;
    for (const [key, listener] of this.listeners) {
      const wanted = plan.listeners.get(key);
      if (wanted !== undefined && (listener instanceof Listener || wanted.group === listener.group.name)) continue;
      this.listeners.delete(key);
      const port = describePort({ port: listener.port, protocol: protocolOf(listener) });
      const groups = listener instanceof Listener ? listener.routes().map((route) => route.group.name).join(', ') : listener.group.name;
      logger.info(`closing ${port} of group ${groups}: ${wanted === undefined ? 'no member declares it any more' : `it now belongs to group ${wanted.group}`}`);
      // The port is released at once; open connections get the grace period in the background.
      void proxy.unlisten(listener, graceMs);
    }
  }

  private async openListeners(plan: DiscoveryPlan): Promise<LabelProblem[]> {
    const { proxy, bind } = this.options;
    const problems: LabelProblem[] = [];
    for (const wanted of plan.listeners.values()) {
      const key = listenerKey(wanted);
      const existing = this.listeners.get(key);
      const routes = this.routesFor(wanted);
      if (existing instanceof Listener) {
        existing.setRoutes(routes);
        continue;
      }
      if (existing !== undefined) {
        existing.setUpstream(this.upstreamFor(wanted, wanted.port));
        continue;
      }
      const group = proxy.findGroup(wanted.group);
      if (group === undefined) continue;
      try {
        const opened =
          wanted.protocol === 'udp'
            ? await proxy.listen({ port: wanted.port, protocol: 'udp', bind, upstream: this.upstreamFor(wanted, wanted.port) }, group)
            : await proxy.listenTcp({ port: wanted.port, bind }, routes);
        this.listeners.set(key, opened);
      } catch (error) {
        problems.push({ container: wanted.declaredBy.name, label: LABEL.port, group: wanted.group, message: `${describeError(error)}; retried at the next change` });
      }
    }
    return problems;
  }

  /** The port's routes with their groups, oldest claim first. */
  private routesFor(wanted: PlannedListener): Route[] {
    return wanted.routes.flatMap((planned) => {
      const group = this.options.proxy.findGroup(planned.group);
      if (group === undefined) return [];
      return [{ group, upstream: this.upstreamFor(planned, wanted.port), hostnames: planned.hostnames, minecraft: planned.minecraft }];
    });
  }

  private async removeGroups(plan: DiscoveryPlan): Promise<void> {
    const { proxy, logger } = this.options;
    const managed = new Set(this.managed(plan).map((group) => group.name));
    for (const group of proxy.allGroups()) {
      if (managed.has(group.name)) continue;
      logger.info(plan.groups.has(group.name) ? `group ${group.name} declares no port any more; it is left alone` : `group ${group.name} has no members any more`);
      await proxy.removeGroup(group.name);
    }
  }

  /** A declared upstream, or the declaring member's own address, looked up at each wake. */
  private upstreamFor(wanted: PlannedRoute, port: number): UpstreamSource {
    if (wanted.upstream !== null) return fixedUpstream(wanted.upstream);
    const { catalog, logger } = this.options;
    const member = wanted.declaredBy.name;
    // Each connection after a failed lookup asks again: the reason is logged when it first appears, not for every one.
    let lastFailure = '';
    return {
      description: describePlannedUpstream(wanted, port),
      resolve: async (signal) => {
        try {
          const host = await catalog.address(member, signal);
          lastFailure = '';
          return { host, port };
        } catch (error) {
          const why = describeError(error);
          if (why !== lastFailure && !signal.aborted) logger.child(wanted.group).warn(`cannot find where ${member} listens for port ${port}: ${why}`);
          lastFailure = why;
          throw error;
        }
      },
    };
  }

  /** Logs problems the first time they appear, naming the member as a container or a service; keeps them all for status. */
  private report(problems: LabelProblem[], services: ReadonlySet<string>): void {
    const keys = new Set<string>();
    for (const problem of problems) {
      const key = problemKey(problem);
      keys.add(key);
      if (!this.reported.has(key)) {
        this.options.logger.warn(`${services.has(problem.container) ? 'service' : 'container'} ${problem.container}: label ${problem.label}: ${problem.message}`);
      }
    }
    this.reported = keys;
    this.problems = problems;
  }
}
