import type Docker from 'dockerode';
import { BackendError } from '../core/errors.js';
import { LABEL } from '../core/labels.js';
import type { SwarmLookups } from './swarm-lookups.js';
import type { SwarmService, SwarmTask } from './swarm-types.js';

/** A host-network service is reached where a task of it runs: 127.0.0.1 on this engine's node, else that node's address. */
async function hostNetworkAddress(docker: Docker, lookups: SwarmLookups, service: SwarmService, signal: AbortSignal): Promise<string> {
  const tasks = (await docker.listTasks({ filters: { service: [service.ID] }, abortSignal: signal })) as SwarmTask[];
  const running = tasks.filter((task) => task.DesiredState === 'running' && task.Status.State === 'running' && task.NodeID !== undefined);
  if (running.length === 0) throw new BackendError(`service ${service.Spec.Name} is on the host network and has no running task to reach`);
  const local = await lookups.localNodeId(signal);
  if (running.some((task) => task.NodeID === local)) return '127.0.0.1';
  await lookups.learnNodes(running, signal);
  const address = lookups.addressOf(running[0]?.NodeID ?? '');
  if (address === undefined) throw new BackendError(`service ${service.Spec.Name} runs on a node whose address Swarm does not report`);
  return address;
}

/**
 * Where the service named `name` can be reached. On the host network: where
 * its task runs. On an overlay network this process is also on: the
 * service's name, which Swarm's DNS answers with its virtual IP (or its
 * tasks' addresses, with endpoint mode dnsrr), looked up at each connect.
 * Otherwise an error that says why none can be found, and how to fix that.
 */
export async function serviceAddress(docker: Docker, lookups: SwarmLookups, name: string, signal: AbortSignal): Promise<string> {
  const service = (await docker.getService(name).inspect({ abortSignal: signal })) as SwarmService;
  const networks = await lookups.networksOf(service);
  if (networks.some((network) => network.driver === 'host')) return hostNetworkAddress(docker, lookups, service, signal);
  const own = await lookups.ownNetworks(signal);
  if (networks.some((network) => own.ids.has(network.id))) return name;
  const on = networks.length === 0 ? 'no network of its own' : `network ${networks.map((network) => network.name).join(', ')}`;
  throw new BackendError(
    `service ${name} shares no network with proxytainer (${name} is on ${on}; ${own.where}): ` +
      `attach both to one overlay network (docker service update --network-add NET), or set ${LABEL.upstream}=HOST:PORT (a published port, say)`,
  );
}
