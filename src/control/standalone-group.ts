import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { Group, type GroupSettings } from '../core/group.js';
import type { Logger } from '../core/logger.js';
import { planDiscovery } from '../discovery/discovery-plan.js';
import type { DockerConnection } from '../docker/docker-client.js';
import { DockerRuntime } from '../docker/docker-runtime.js';
import type { SleepResult, WakeProgress, WakeResult } from './control-api.js';

/** Longest idle period a standalone group may have; it never idles anyway, it only lives for one command. */
const ONE_DAY_MS = 86_400_000;

/**
 * Runs `body` with the group driven straight through Docker, for `wake` and
 * `sleep` when no proxy runs. It is the same lifecycle as the proxy's, so a
 * standalone wake waits for health and fails the same ways. Containers are
 * left as the command put them.
 */
async function withStandaloneGroup<T>(
  connection: DockerConnection,
  name: string,
  options: { readonly startTimeoutMs: number; readonly clock: Clock; readonly logger: Logger },
  body: (group: Group) => Promise<T>,
): Promise<T> {
  const { clock, logger } = options;
  const runtime = new DockerRuntime({ docker: connection.docker, endpoint: connection.endpoint.url, clock, logger, group: name });
  const plan = planDiscovery(await runtime.labelledContainers(new AbortController().signal));
  const health = plan.groups.get(name)?.health ?? true;
  const settings: GroupSettings = { idleMs: ONE_DAY_MS, health, startTimeoutMs: options.startTimeoutMs, stopTimeoutSeconds: undefined, connectionsKeepAwake: false };
  const group = new Group(name, settings, { runtime, clock, logger });
  runtime.follow();
  group.watch();
  try {
    return await body(group);
  } finally {
    await group.close();
    await runtime.close();
  }
}

export function wakeWithDocker(
  connection: DockerConnection,
  name: string,
  options: { readonly startTimeoutMs: number; readonly clock: Clock; readonly logger: Logger },
  onProgress: (progress: WakeProgress) => void,
): Promise<WakeResult> {
  return withStandaloneGroup(connection, name, options, async (group) => {
    const off = group.onProgress((state, detail) => {
      onProgress({ state, detail });
    });
    try {
      await group.acquire('wake requested (proxytainer wake, no proxy running)');
      return { ok: true, state: group.state };
    } catch (error) {
      return { ok: false, reason: describeError(error) };
    } finally {
      off();
    }
  });
}

/** `wake --no-wait` without a proxy: the start calls, and no waiting for health. */
export async function startWithDocker(connection: DockerConnection, name: string, options: { readonly clock: Clock; readonly logger: Logger }): Promise<WakeResult> {
  const runtime = new DockerRuntime({ docker: connection.docker, endpoint: connection.endpoint.url, clock: options.clock, logger: options.logger, group: name });
  const signal = new AbortController().signal;
  try {
    const members = await runtime.members(name, signal);
    if (members.length === 0) return { ok: false, reason: `no ${runtime.describeGroup(name)} exist` };
    await Promise.all(members.filter((m) => m.state !== 'running').map((m) => runtime.start(m, signal)));
    return { ok: true, state: 'Starting' };
  } catch (error) {
    return { ok: false, reason: describeError(error) };
  }
}

export function sleepWithDocker(
  connection: DockerConnection,
  name: string,
  options: { readonly clock: Clock; readonly logger: Logger },
): Promise<SleepResult> {
  return withStandaloneGroup(connection, name, { ...options, startTimeoutMs: ONE_DAY_MS }, async (group) => {
    await group.settled();
    const error = await group.sleep('sleep requested (proxytainer sleep, no proxy running)');
    return error === null ? { ok: true } : { ok: false, reason: error };
  });
}
