import type { Clock } from './clock.js';
import { Group, type GroupSettings } from './group.js';
import { HoldLimit } from './hold-limit.js';
import { Listener, type ListenerDeps, type ListenerSpec } from './listener.js';
import type { Logger } from './logger.js';
import type { Runtime } from './runtime.js';

export interface ProxyOptions {
  readonly runtime: Runtime;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Most connections held at once, over all groups, while waiting for a wake. */
  readonly maxHeld: number;
  /** See ListenerDeps: false reads accepted connections through Node's streams only (for tests of that fallback). */
  readonly takeOverAccepted?: ListenerDeps['takeOverAccepted'];
}

/**
 * The running proxy: its groups and their listeners. Static mode builds one
 * group with one listener; discovery mode adds and removes them as labels
 * change. Teardown order: stop accepting, let held connections go, give open
 * ones a grace period, then close them; containers are left as they are.
 */
export class Proxy {
  private readonly groups = new Map<string, Group>();
  private readonly listeners = new Set<Listener>();
  private readonly holdLimit: HoldLimit;

  constructor(private readonly options: ProxyOptions) {
    this.holdLimit = new HoldLimit(options.maxHeld);
  }

  /** The group called `name`, created (and watching the runtime) on first use. */
  group(name: string, settings: GroupSettings): Group {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new Group(name, settings, this.options);
      this.groups.set(name, group);
      group.watch();
    }
    return group;
  }

  findGroup(name: string): Group | undefined {
    return this.groups.get(name);
  }

  allGroups(): Group[] {
    return [...this.groups.values()];
  }

  allListeners(): Listener[] {
    return [...this.listeners];
  }

  /** Opens a listener for `group`; rejects with a UserError when the port cannot be bound. */
  async listen(spec: ListenerSpec, group: Group): Promise<Listener> {
    const listener = new Listener(spec, group, { ...this.options, holdLimit: this.holdLimit });
    await listener.listen();
    this.listeners.add(listener);
    return listener;
  }

  /** Closes one listener, giving its open connections `graceMs` to finish. */
  async unlisten(listener: Listener, graceMs: number): Promise<void> {
    this.listeners.delete(listener);
    listener.stopAccepting();
    await listener.drain(graceMs);
  }

  /** Forgets a group that no listener uses any more. */
  async removeGroup(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (group === undefined) return;
    this.groups.delete(name);
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
