import type { Protocol } from './address.js';
import type { Clock } from './clock.js';
import { Group, type GroupSettings, type Peers } from './group.js';
import { DatagramBudget } from './held-datagrams.js';
import { HoldLimit } from './hold-limit.js';
import { IcmpAllowance } from './icmp-allowance.js';
import { Listener, type ListenerDeps, type ListenerSpec } from './listener.js';
import type { Logger } from './logger.js';
import type { Route } from './route.js';
import type { Runtime } from './runtime.js';
import { UdpListener } from './udp-listener.js';
import { DEFAULT_UDP_SETTINGS, type UdpSettings } from './udp-settings.js';

export interface ProxyOptions {
  readonly runtime: Runtime;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Most connections held at once, over all groups, while waiting for a wake. */
  readonly maxHeld: number;
  /** Other proxies, asked before a shared member is put to sleep. */
  readonly peers?: Peers | undefined;
  /** UDP's bounds and timeout; defaults for what is left out. */
  readonly udp?: Partial<UdpSettings>;
  /** See ListenerDeps: false reads accepted connections through Node's streams only (for tests of that fallback). */
  readonly takeOverAccepted?: ListenerDeps['takeOverAccepted'];
}

/** A listener and the protocol it speaks: tcp when left out. */
export type ProxyListenerSpec = ListenerSpec & { readonly protocol?: Protocol };
export type ProxyListener = Listener | UdpListener;

/** The protocol a listener speaks. */
export function protocolOf(listener: ProxyListener): Protocol {
  return listener instanceof UdpListener ? 'udp' : 'tcp';
}

/**
 * The running proxy: its groups and their listeners. Static mode builds one
 * group with one listener; discovery mode adds and removes them as labels
 * change. Teardown order: stop accepting, let held connections go, give open
 * ones a grace period, then close them; containers are left as they are.
 * UDP listeners close at once with their flows: there is nothing to finish.
 */
export class Proxy {
  private readonly groups = new Map<string, Group>();
  private readonly listeners = new Set<ProxyListener>();
  private readonly observers = new Set<(group: Group) => void>();
  private readonly holdLimit: HoldLimit;
  private readonly udp: UdpSettings;
  private readonly flowLimit: HoldLimit;
  private readonly icmp: IcmpAllowance;
  /** Each group's bound on held datagrams, shared by its UDP listeners. */
  private readonly budgets = new Map<string, DatagramBudget>();

  constructor(private readonly options: ProxyOptions) {
    this.holdLimit = new HoldLimit(options.maxHeld);
    this.udp = { ...DEFAULT_UDP_SETTINGS, ...options.udp };
    this.flowLimit = new HoldLimit(this.udp.maxFlows);
    this.icmp = new IcmpAllowance(options.clock);
  }

  /** The group called `name`, created (and watching the runtime) on first use. */
  group(name: string, settings: GroupSettings): Group {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new Group(name, settings, this.options);
      this.groups.set(name, group);
      // Before the first reading, so observers see every transition, a start made outside included.
      for (const observer of this.observers) observer(group);
      group.watch();
    }
    return group;
  }

  /**
   * Calls `observer` with every group there is and every group created later,
   * before it makes its first transition (metrics, webhooks, wake history).
   * Returns an unsubscribe function.
   */
  onGroup(observer: (group: Group) => void): () => void {
    this.observers.add(observer);
    for (const group of this.groups.values()) observer(group);
    return () => this.observers.delete(observer);
  }

  findGroup(name: string): Group | undefined {
    return this.groups.get(name);
  }

  allGroups(): Group[] {
    return [...this.groups.values()];
  }

  allListeners(): ProxyListener[] {
    return [...this.listeners];
  }

  /** Opens a listener for `group`; rejects with a UserError when the port cannot be bound. */
  async listen(spec: ListenerSpec & { readonly protocol?: 'tcp' }, group: Group): Promise<Listener>;
  async listen(spec: ListenerSpec & { readonly protocol: 'udp' }, group: Group): Promise<UdpListener>;
  async listen(spec: ProxyListenerSpec, group: Group): Promise<ProxyListener>;
  async listen(spec: ProxyListenerSpec, group: Group): Promise<ProxyListener> {
    if (spec.protocol === 'udp') {
      const listener = this.udpListener(spec, group);
      await listener.listen();
      this.listeners.add(listener);
      return listener;
    }
    const route: Route = { group, upstream: spec.upstream, hostnames: spec.hostnames ?? [], minecraft: spec.minecraft ?? null };
    return this.listenTcp({ port: spec.port, bind: spec.bind }, [route]);
  }

  /** Opens a TCP port for one or more groups (routes, oldest claim first); `Listener.setRoutes` changes them later. */
  async listenTcp(spec: { readonly port: number; readonly bind: string | undefined }, routes: readonly Route[]): Promise<Listener> {
    const listener = new Listener(spec, routes, { ...this.options, holdLimit: this.holdLimit });
    await listener.listen();
    this.listeners.add(listener);
    return listener;
  }

  private udpListener(spec: ListenerSpec, group: Group): UdpListener {
    let budget = this.budgets.get(group.name);
    if (budget === undefined) {
      budget = new DatagramBudget(this.udp.maxHeldDatagrams, this.udp.maxHeldBytes);
      this.budgets.set(group.name, budget);
    }
    const { clock, logger } = this.options;
    return new UdpListener(spec, group, { clock, logger, flowTimeoutMs: this.udp.flowTimeoutMs, flowLimit: this.flowLimit, budget, icmp: this.icmp });
  }

  /** Closes one listener, giving its open connections `graceMs` to finish. */
  async unlisten(listener: ProxyListener, graceMs: number): Promise<void> {
    this.listeners.delete(listener);
    listener.stopAccepting();
    await listener.drain(graceMs);
  }

  /** Forgets a group that no listener uses any more. */
  async removeGroup(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (group === undefined) return;
    this.groups.delete(name);
    this.budgets.delete(name);
    await group.close();
  }

  async shutdown(graceMs: number): Promise<void> {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.stopAccepting();
    await Promise.all(this.allGroups().map((group) => group.close()));
    this.groups.clear();
    await Promise.all(listeners.map((listener) => listener.drain(graceMs)));
  }
}
