import { withFanOut } from '../core/abortable.js';
import type { Backend } from '../core/backend.js';
import type { CatalogEntry } from '../core/catalog.js';
import { LABEL } from '../core/labels.js';
import type { Member, RuntimeChange, SleepMode } from '../core/runtime.js';
import type { SwarmServices } from './swarm-services.js';

/**
 * Containers and Swarm services behind one backend, so a group may mix both:
 * members and catalog entries are read from each and put together, and wake,
 * sleep and address go to the one the member came from (by its kind).
 */
export class CompositeBackend implements Backend {
  readonly endpoint: string;
  /** Names the last catalog listing found as services, for `address`, which gets only a name. */
  private serviceNames = new Set<string>();

  constructor(
    private readonly containers: Backend,
    private readonly services: SwarmServices,
  ) {
    this.endpoint = containers.endpoint;
  }

  follow(): void {
    this.containers.follow();
    this.services.follow();
  }

  async close(): Promise<void> {
    await Promise.all([this.containers.close(), this.services.close()]);
  }

  /** Swarm services are named only where the engine is a swarm manager, so other users' messages stay as they were. */
  describeGroup(group: string): string {
    return this.services.swarmActive ? `containers or Swarm services labelled ${LABEL.group}=${group}` : this.containers.describeGroup(group);
  }

  async members(group: string, signal: AbortSignal): Promise<Member[]> {
    const [containers, services] = await withFanOut(signal, (each) => Promise.all([this.containers.members(group, each), this.services.members(group, each)]));
    return [...containers, ...services];
  }

  wake(member: Member, signal: AbortSignal): Promise<void> {
    return this.backendOf(member).wake(member, signal);
  }

  sleep(member: Member, options: { readonly mode: SleepMode; readonly timeoutSeconds: number | undefined }, signal: AbortSignal): Promise<void> {
    return this.backendOf(member).sleep(member, options, signal);
  }

  subscribe(listener: (change: RuntimeChange) => void): () => void {
    const off = [this.containers.subscribe(listener), this.services.subscribe(listener)];
    return () => {
      for (const unsubscribe of off) unsubscribe();
    };
  }

  async list(signal: AbortSignal): Promise<CatalogEntry[]> {
    const [containers, services] = await withFanOut(signal, (each) => Promise.all([this.containers.list(each), this.services.list(each)]));
    this.serviceNames = new Set(services.map((entry) => entry.name));
    return [...containers, ...services];
  }

  address(name: string, signal: AbortSignal): Promise<string> {
    return (this.serviceNames.has(name) ? this.services : this.containers).address(name, signal);
  }

  onMembershipChange(listener: (reason: string) => void): () => void {
    const off = [this.containers.onMembershipChange(listener), this.services.onMembershipChange(listener)];
    return () => {
      for (const unsubscribe of off) unsubscribe();
    };
  }

  private backendOf(member: Member): Backend {
    return member.kind === 'service' ? this.services : this.containers;
  }
}
