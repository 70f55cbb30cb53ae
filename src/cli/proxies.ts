import { rmSync } from 'node:fs';
import { ControlUnavailableError, fetchStatus } from '../control/control-client.js';
import { controlDirs, currentUid, socketsIn } from '../control/control-paths.js';
import type { StatusDocument } from '../control/status-document.js';
import { describeError, errorCode } from '../core/errors.js';
import type { Peers } from '../core/group.js';

export interface RunningProxy {
  readonly socket: string;
  readonly status: StatusDocument;
}

/** Removes a socket file its killed proxy left behind; a note when it is not ours to remove. */
function removeStale(socket: string): string | null {
  try {
    rmSync(socket, { force: true });
    return null;
  } catch (error) {
    return `${socket} was left by a proxy that is no longer running, and cannot be removed here (${errorCode(error) ?? describeError(error)}); remove it as its owner`;
  }
}

/**
 * Every running proxy that answers, with what it reports: the one socket
 * given, or every socket in every control directory of the machine (this
 * user's, root's, other users'). What could not be read is said in `notes`;
 * sockets left by killed proxies are removed where the user may.
 */
export async function runningProxies(explicitSocket: string | undefined, env: NodeJS.ProcessEnv): Promise<{ proxies: RunningProxy[]; notes: string[] }> {
  const proxies: RunningProxy[] = [];
  const notes: string[] = [];
  let sockets = explicitSocket === undefined ? [] : [explicitSocket];
  if (explicitSocket === undefined) {
    for (const dir of controlDirs(env, currentUid())) {
      const found = socketsIn(dir);
      if (found.problem !== null) notes.push(found.problem);
      sockets = [...sockets, ...found.sockets];
    }
  }
  for (const socket of sockets) {
    try {
      proxies.push({ socket, status: await fetchStatus(socket) });
    } catch (error) {
      if (!(error instanceof ControlUnavailableError)) {
        notes.push(`the proxy on ${socket} did not answer properly: ${describeError(error)}`);
      } else if (error.reason === 'denied') {
        notes.push(`${error.message}: the proxy there belongs to another user; run as that user or root, or join the docker group`);
      } else if (explicitSocket !== undefined) {
        notes.push(error.message);
      } else if (error.reason === 'stale') {
        const note = removeStale(socket);
        if (note !== null) notes.push(note);
      }
    }
  }
  return { proxies, notes };
}

/** The control socket of the proxy that manages `group`, if one does. */
export function proxyManaging(group: string, proxies: readonly RunningProxy[]): RunningProxy | undefined {
  return proxies.find((proxy) => proxy.status.groups.some((g) => g.name === group));
}

/**
 * The running proxy that manages `group`, for wake and sleep. When none
 * does, what could not be read is said first (`warn`): a proxy of another
 * user may manage it, and going to Docker instead is then worth knowing.
 */
export async function findManagingProxy(group: string, explicitSocket: string | undefined, env: NodeJS.ProcessEnv, warn: (text: string) => void): Promise<RunningProxy | undefined> {
  const { proxies, notes } = await runningProxies(explicitSocket, env);
  const proxy = proxyManaging(group, proxies);
  if (proxy === undefined) for (const note of notes) warn(note);
  return proxy;
}

/** The pids of the proxies that manage each group. */
export function managersOf(proxies: readonly RunningProxy[]): Map<string, number[]> {
  const managers = new Map<string, number[]>();
  for (const proxy of proxies) {
    for (const group of proxy.status.groups) {
      if (group.proxy !== null) managers.set(group.name, [...(managers.get(group.name) ?? []), group.proxy]);
    }
  }
  return managers;
}

/** Groups that more than one proxy manages, with the pids of those proxies. */
export function sharedGroups(proxies: readonly RunningProxy[]): Map<string, number[]> {
  return new Map([...managersOf(proxies)].filter(([, pids]) => pids.length > 1));
}

/** What to say about a group several proxies manage. */
export function describeShared(group: string, pids: readonly number[]): string {
  return `group ${group} is managed by proxies ${pids.join(' and ')}: each wakes and idle-stops it on its own clock; run one proxy per group`;
}

/** The other proxies on this machine, asked through their control sockets, for decisions about shared members. */
export function peersOf(ownSocket: string, env: NodeJS.ProcessEnv): Peers {
  return {
    async isAwake(group) {
      const { proxies } = await runningProxies(undefined, env);
      for (const proxy of proxies.filter((p) => p.socket !== ownSocket)) {
        const managed = proxy.status.groups.find((g) => g.name === group && g.proxy !== null);
        if (managed !== undefined) return managed.state === 'Running' || managed.state === 'Starting';
      }
      return null;
    },
  };
}
