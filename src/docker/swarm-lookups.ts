import type Docker from 'dockerode';
import { dockerStatus } from './docker-error.js';
import { specHealthCheck } from './service-member.js';
import type { SwarmNode, SwarmService, SwarmTask } from './swarm-types.js';

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
}

/**
 * What rarely changes in a swarm, looked up once and kept: node names and
 * addresses (read again when a task lands on a node not seen yet), this
 * engine's own node, networks, and whether an image has a health check.
 */
export class SwarmLookups {
  private readonly nodeNames = new Map<string, string>();
  private readonly nodeAddresses = new Map<string, string>();
  private readonly imageHealth = new Map<string, boolean>();
  private readonly networks = new Map<string, NetworkInfo>();
  private localNode: string | null = null;

  constructor(
    private readonly docker: Docker,
    /** The container this process runs in, or null. */
    private readonly ownContainer: () => Promise<string | null>,
  ) {}

  /** Node IDs to host names, as far as learned. */
  get names(): ReadonlyMap<string, string> {
    return this.nodeNames;
  }

  /** The address Swarm reports for a node (where a host-network task there listens). */
  addressOf(node: string): string | undefined {
    const address = this.nodeAddresses.get(node);
    return address === '' ? undefined : address;
  }

  /** Learns the nodes when one of `tasks` is on a node not seen yet. */
  async learnNodes(tasks: readonly SwarmTask[], signal: AbortSignal): Promise<void> {
    if (tasks.every((task) => task.NodeID === undefined || task.NodeID === '' || this.nodeNames.has(task.NodeID))) return;
    const nodes = (await this.docker.listNodes({ abortSignal: signal })) as SwarmNode[];
    for (const node of nodes) {
      this.nodeNames.set(node.ID, node.Description?.Hostname ?? node.ID.slice(0, 12));
      this.nodeAddresses.set(node.ID, node.Status?.Addr ?? '');
    }
  }

  /** The swarm node of the engine proxytainer talks to. */
  async localNodeId(signal: AbortSignal): Promise<string> {
    if (this.localNode === null) {
      const { docker } = this;
      // @types/dockerode omits the options dockerode takes here.
      const info = (await (docker.info as (options: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, { abortSignal: signal })) as { Swarm?: { NodeID?: string } };
      this.localNode = info.Swarm?.NodeID ?? '';
    }
    return this.localNode;
  }

  /** The service's health check, or its image's where the service leaves it to the image (looked up once per image). */
  async healthChecked(service: SwarmService, signal: AbortSignal): Promise<boolean> {
    const own = specHealthCheck(service);
    if (own !== undefined) return own;
    const image = service.Spec.TaskTemplate?.ContainerSpec?.Image;
    if (image === undefined) return false;
    const known = this.imageHealth.get(image);
    if (known !== undefined) return known;
    try {
      const info = await this.docker.getImage(image).inspect({ abortSignal: signal } as object);
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
  async networksOf(service: SwarmService): Promise<NetworkInfo[]> {
    const targets = [...(service.Spec.TaskTemplate?.Networks ?? service.Spec.Networks ?? [])].map((n) => n.Target).filter((t) => t !== undefined);
    const found = await Promise.all(
      targets.map(async (target) => {
        const known = this.networks.get(target);
        if (known !== undefined) return known;
        try {
          // Not abortable in dockerode; asked once per network, and quick.
          const info = await this.docker.getNetwork(target).inspect();
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

  /** The networks this process's own container is on (read each time: it may be connected to more), and a phrase saying where it runs. */
  async ownNetworks(signal: AbortSignal): Promise<{ readonly ids: ReadonlySet<string>; readonly where: string }> {
    const id = await this.ownContainer();
    if (id === null) return { ids: new Set(), where: 'proxytainer runs outside any container, so it can reach no overlay network' };
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect({ abortSignal: signal });
    } catch (error) {
      if (dockerStatus(error) === 404) return { ids: new Set(), where: 'proxytainer runs in a container this engine does not know (on another node?)' };
      throw error;
    }
    if (info.HostConfig.NetworkMode === 'host') return { ids: new Set(), where: 'proxytainer is on the host network' };
    const networks = Object.entries(info.NetworkSettings.Networks);
    return {
      ids: new Set(networks.map(([, network]) => network.NetworkID)),
      where: `proxytainer is on ${networks.length === 0 ? 'no network' : networks.map(([name]) => name).join(', ')}`,
    };
  }
}
