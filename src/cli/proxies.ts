import { ControlUnavailableError, fetchStatus } from '../control/control-client.js';
import { controlSockets } from '../control/control-paths.js';
import type { StatusDocument } from '../control/status-document.js';
import { describeError } from '../core/errors.js';

export interface RunningProxy {
  readonly socket: string;
  readonly status: StatusDocument;
}

/** Every running proxy that answers, with what it reports; sockets nobody answers on are skipped. */
export async function runningProxies(explicitSocket: string | undefined, env: NodeJS.ProcessEnv): Promise<{ proxies: RunningProxy[]; notes: string[] }> {
  const proxies: RunningProxy[] = [];
  const notes: string[] = [];
  for (const socket of controlSockets(explicitSocket, env)) {
    try {
      proxies.push({ socket, status: await fetchStatus(socket) });
    } catch (error) {
      if (error instanceof ControlUnavailableError) {
        if (explicitSocket !== undefined) notes.push(`no proxy answers on ${socket}`);
      } else {
        notes.push(`the proxy on ${socket} did not answer properly: ${describeError(error)}`);
      }
    }
  }
  return { proxies, notes };
}

/** The control socket of the proxy that manages `group`, if one does. */
export function proxyManaging(group: string, proxies: readonly RunningProxy[]): RunningProxy | undefined {
  return proxies.find((proxy) => proxy.status.groups.some((g) => g.name === group));
}
