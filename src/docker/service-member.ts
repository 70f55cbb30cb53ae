import { groupsOf, LABEL } from '../core/labels.js';
import type { HealthStatus, Member } from '../core/runtime.js';
import type { SwarmService, SwarmServiceSpec, SwarmTask } from './swarm-types.js';

/** Task states a task never leaves on its own: it ended, or never got to run. Swarm replaces it with a new task. */
const FAILED = new Set(['failed', 'rejected', 'complete', 'orphaned']);
/** Task states of a task that is over, whatever the reason. */
export const ENDED = new Set([...FAILED, 'shutdown', 'remove']);

/** How many replicas the service asks for; 0 for a mode that has no count. */
export function desiredReplicas(spec: SwarmServiceSpec): number {
  return spec.Mode?.Replicated?.Replicas ?? 0;
}

/** Why proxytainer cannot scale this service, or null when it can (a replicated service). */
export function unscalableReason(spec: SwarmServiceSpec): string | null {
  const { Mode: mode, Name: name } = spec;
  if (mode?.Global !== undefined) {
    return `${name} is a global service (one task on every node), which Swarm cannot scale to 0, so proxytainer cannot put it to sleep; deploy it replicated (deploy.mode: replicated) or take its ${LABEL.group} label off`;
  }
  if (mode?.ReplicatedJob !== undefined || mode?.GlobalJob !== undefined) {
    return `${name} is a Swarm job, which runs to completion rather than serving; take its ${LABEL.group} label off`;
  }
  return null;
}

/** True when the service's own spec sets a health check; undefined when it leaves it to the image. */
export function specHealthCheck(service: SwarmService): boolean | undefined {
  const test = service.Spec.TaskTemplate?.ContainerSpec?.Healthcheck?.Test;
  if (test === undefined || test.length === 0) return undefined;
  return test[0] !== 'NONE';
}

function millis(time: string | undefined): number {
  const ms = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(ms) ? ms : 0;
}

/** What stopped a task, in Swarm's own words where it gave any. */
export function describeTaskFailure(task: SwarmTask, node: string | undefined): string {
  const { State: state, Err: err, Message: message, ContainerStatus: container } = task.Status;
  const on = node === undefined ? '' : ` on ${node}`;
  const said = err !== undefined && err !== '' ? err : message;
  switch (state) {
    case 'pending':
      return said ?? 'no node can take it';
    case 'rejected':
      return `rejected${on}: ${said ?? 'no reason given'}`;
    case 'orphaned':
      return `its node${on === '' ? '' : ` ${node ?? ''}`} is down (task orphaned)`;
    case 'complete':
      return `its task exited${on} (exit code ${container?.ExitCode ?? 0})`;
    default:
      return `its task failed${on}: ${said ?? `exit code ${container?.ExitCode ?? '?'}`}`;
  }
}

/**
 * The most recent reason the service cannot get its tasks running: a task
 * the scheduler cannot place (pending with an error), or one that ended
 * since the service was last updated (the scale-up of this wake); tasks
 * that ended before it are history. Null when nothing failed.
 */
export function latestFailure(service: SwarmService, tasks: readonly SwarmTask[]): SwarmTask | null {
  const since = millis(service.UpdatedAt);
  const failures = tasks.filter(
    (task) =>
      (task.DesiredState === 'running' && task.Status.State === 'pending' && (task.Status.Err ?? '') !== '') ||
      (FAILED.has(task.Status.State) && millis(task.CreatedAt) >= since),
  );
  failures.sort((a, b) => millis(b.Status.Timestamp) - millis(a.Status.Timestamp));
  return failures[0] ?? null;
}

/** `1 preparing, 1 not healthy yet`: where the tasks not yet running are. */
function describeWaiting(tasks: readonly SwarmTask[], healthChecked: boolean): string {
  const counts = new Map<string, number>();
  for (const task of tasks) {
    const state = task.Status.State === 'starting' && healthChecked ? 'not healthy yet' : task.Status.State;
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return [...counts].map(([state, count]) => `${count} ${state}`).join(', ');
}

export interface ServiceReading {
  readonly service: SwarmService;
  /** Every task Swarm keeps for the service, history included. */
  readonly tasks: readonly SwarmTask[];
  /** Node IDs to host names, for `status`; an ID not in it is shown shortened. */
  readonly nodeNames: ReadonlyMap<string, string>;
  /** The service or its image has a health check (Swarm then keeps a task `starting` until it is healthy). */
  readonly healthChecked: boolean;
}

/**
 * A service in the core's words. Scaled to 0 is `stopped`. Fewer tasks
 * running than desired is `starting`: Swarm is scheduling, preparing or
 * starting them, or waiting for their health check (it reports a task
 * running only once healthy). If none runs and Swarm says why it cannot
 * (no node fits, the image is missing, the task failed since the wake), the
 * member is `failing`, with Swarm's reason as its detail. All running is
 * `running`, healthy where there is a health check.
 */
export function serviceMember(reading: ServiceReading): Member {
  const { service, tasks, nodeNames, healthChecked } = reading;
  const name = service.Spec.Name;
  const desired = desiredReplicas(service.Spec);
  const current = tasks.filter((task) => task.DesiredState === 'running');
  const running = current.filter((task) => task.Status.State === 'running');
  const nodeOf = (task: SwarmTask): string | undefined => (task.NodeID === undefined || task.NodeID === '' ? undefined : (nodeNames.get(task.NodeID) ?? task.NodeID.slice(0, 12)));
  const nodes = [...new Set(current.map(nodeOf).filter((node) => node !== undefined))].sort();
  // Services have no exit code of their own and no start order (a stack file's depends_on is not kept by Swarm).
  const groups = groupsOf(service.Spec.Labels?.[LABEL.group] ?? '');
  const base = { id: service.ID, name, kind: 'service', replicas: { running: running.length, desired, nodes }, exitCode: null, groups, dependsOn: [] } as const;
  if (desired === 0) {
    const stopping = tasks.filter((task) => !ENDED.has(task.Status.State)).length;
    return { ...base, phase: 'stopped', health: 'none', state: 'scaled to 0', detail: `${name} is scaled to 0${stopping > 0 ? ` (${stopping} task(s) still stopping)` : ''}` };
  }
  const counts = `${name}: ${running.length}/${desired} tasks running`;
  if (running.length >= desired) {
    return { ...base, phase: 'running', health: healthChecked ? 'healthy' : 'none', state: 'running', detail: counts };
  }
  const failed = latestFailure(service, tasks);
  const failure = failed === null ? null : describeTaskFailure(failed, nodeOf(failed));
  if (failure !== null && running.length === 0) {
    return { ...base, phase: 'starting', failing: true, health: 'none', state: 'failing', detail: `${counts}: ${failure}` };
  }
  const waiting = current.filter((task) => task.Status.State !== 'running');
  const health: HealthStatus = healthChecked && waiting.some((task) => task.Status.State === 'starting') ? 'starting' : 'none';
  const parts = [waiting.length === 0 ? 'being scheduled' : describeWaiting(waiting, healthChecked), ...(failure === null ? [] : [`last failure: ${failure}`])];
  return { ...base, phase: 'starting', health, state: 'starting', detail: `${counts} (${parts.join('; ')})` };
}
