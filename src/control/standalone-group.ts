import type { Backend } from '../core/backend.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { failuresOf } from '../core/failures.js';
import { Group, type GroupSettings, OPEN_WAKE_RULES } from '../core/group.js';
import type { Logger } from '../core/logger.js';
import { isUp } from '../core/runtime.js';
import { STOP } from '../core/sleep-plan.js';
import { planDiscovery } from '../discovery/discovery-plan.js';
import { settingsFor } from '../discovery/discovery.js';
import type { SleepResult, WakeProgress, WakeResult } from './control-api.js';

/** Longest idle period a standalone group may have; it never idles anyway, it only lives for one command. */
const ONE_DAY_MS = 86_400_000;

export interface StandaloneOptions {
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Runs `body` with the group driven straight through the backend, for `wake`
 * and `sleep` when no proxy runs. It is the same lifecycle as the proxy's, so
 * a standalone wake waits for health and fails the same ways. Members are left
 * as the command put them.
 */
async function withStandaloneGroup<T extends { readonly ok: boolean }>(
  backend: Backend,
  name: string,
  options: StandaloneOptions & { readonly startTimeoutMs: number },
  body: (group: Group) => Promise<T>,
): Promise<T | { readonly ok: false; readonly reason: string }> {
  const planned = planDiscovery(await backend.list(new AbortController().signal)).groups.get(name);
  if (planned === undefined) {
    await backend.close();
    return { ok: false, reason: `no group named ${name}: no ${backend.describeGroup(name)} exist, and no proxy manages it; status lists the groups` };
  }
  const defaults: GroupSettings = {
    idleMs: ONE_DAY_MS,
    idleThresholdBytes: 0,
    health: true,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutSeconds: undefined,
    connectionsKeepAwake: false,
    sleep: STOP,
    ...OPEN_WAKE_RULES,
  };
  // Its own labels decide how it sleeps and whether health counts; never idle: it lives for one command.
  const settings: GroupSettings = { ...settingsFor(planned, defaults), idleMs: ONE_DAY_MS };
  const group = new Group(name, settings, { runtime: backend, clock: options.clock, logger: options.logger });
  backend.follow();
  group.watch();
  try {
    return await body(group);
  } finally {
    await group.close();
    await backend.close();
  }
}

export function wakeWithBackend(
  backend: Backend,
  name: string,
  options: StandaloneOptions & { readonly startTimeoutMs: number },
  onProgress: (progress: WakeProgress) => void,
): Promise<WakeResult> {
  return withStandaloneGroup(backend, name, options, async (group) => {
    const off = group.onTransition(({ to, detail }) => {
      onProgress({ state: to, detail });
    });
    try {
      await group.hold('wake requested (proxytainer wake, no proxy running)').promise;
      return { ok: true, state: group.state };
    } catch (error) {
      await group.settled(); // a failed wake stops what it started before the command returns
      return { ok: false, reason: describeError(error) };
    } finally {
      off();
    }
  });
}

/** `wake --no-wait` without a proxy: the start calls, and no waiting for health. */
export async function startWithBackend(backend: Backend, name: string): Promise<WakeResult> {
  const signal = new AbortController().signal;
  try {
    const members = await backend.members(name, signal);
    if (members.length === 0) return { ok: false, reason: `no ${backend.describeGroup(name)} exist` };
    const failures = await failuresOf(members.filter((m) => !isUp(m)), (m) => m.name, (m) => backend.wake(m, signal));
    return failures.length === 0 ? { ok: true, state: 'Starting' } : { ok: false, reason: `could not start ${failures.join('; ')}` };
  } catch (error) {
    return { ok: false, reason: describeError(error) };
  }
}

export function sleepWithBackend(backend: Backend, name: string, options: StandaloneOptions): Promise<SleepResult> {
  return withStandaloneGroup(backend, name, { ...options, startTimeoutMs: ONE_DAY_MS }, async (group) => {
    await group.settled();
    const error = await group.sleep('sleep requested (proxytainer sleep, no proxy running)');
    return error === null ? { ok: true } : { ok: false, reason: error };
  });
}
