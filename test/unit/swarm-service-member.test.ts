import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessReadiness } from '../../src/core/readiness.js';
import { containerIdFromMountinfo } from '../../src/docker/self-container.js';
import { serviceMember, unscalableReason } from '../../src/docker/service-member.js';
import type { SwarmService, SwarmServiceSpec, SwarmTask } from '../../src/docker/swarm-types.js';
import { REMEMBERED_REPLICAS_LABEL, wakeReplicas } from '../../src/docker/wake-replicas.js';

/** The scale-up of the wake happened at 12:00:00; tasks are created after it unless said otherwise. */
const UPDATED = '2026-11-27T12:00:00.000000000Z';

function service(replicas: number, spec: Partial<SwarmServiceSpec> = {}): SwarmService {
  return {
    ID: 'svc1234567890abcdefghijkl',
    Version: { Index: 7 },
    CreatedAt: '2026-11-27T11:00:00Z',
    UpdatedAt: UPDATED,
    Spec: { Name: 'web', Mode: { Replicated: { Replicas: replicas } }, ...spec },
  };
}

let seq = 0;
function task(state: string, options: { desired?: string; err?: string; node?: string; created?: string; at?: string; exitCode?: number } = {}): SwarmTask {
  seq++;
  return {
    ID: `task${seq}`,
    ServiceID: 'svc1234567890abcdefghijkl',
    ...(options.node === undefined ? {} : { NodeID: options.node }),
    CreatedAt: options.created ?? `2026-11-27T12:00:0${seq % 10}.000Z`,
    DesiredState: options.desired ?? 'running',
    Status: {
      State: state,
      Timestamp: options.at ?? `2026-11-27T12:00:1${seq % 10}.000Z`,
      ...(options.err === undefined ? {} : { Err: options.err }),
      ...(options.exitCode === undefined ? {} : { ContainerStatus: { ExitCode: options.exitCode } }),
    },
  };
}

const nodes = new Map([['node-a-id', 'node-a'], ['node-b-id', 'node-b']]);

function member(svc: SwarmService, tasks: SwarmTask[], healthChecked = false) {
  return serviceMember({ service: svc, tasks, nodeNames: nodes, healthChecked });
}

describe('a Swarm service as a member', () => {
  it('scaled to 0 is stopped, whatever its old tasks say', () => {
    const m = member(service(0), [task('shutdown', { desired: 'shutdown', node: 'node-a-id' }), task('failed', { desired: 'shutdown', err: 'task: non-zero exit (1)' })]);
    assert.equal(m.phase, 'stopped');
    assert.equal(m.kind, 'service');
    assert.equal(m.failing, undefined);
    assert.equal(m.detail, 'web is scaled to 0');
    assert.deepEqual(m.replicas, { running: 0, desired: 0, nodes: [] });
  });

  it('every desired task running is running, on the nodes of its tasks; healthy where there is a health check', () => {
    const tasks = [task('running', { node: 'node-b-id' }), task('running', { node: 'node-a-id' }), task('shutdown', { desired: 'shutdown', node: 'node-c-id-long-enough' })];
    const m = member(service(2), tasks, true);
    assert.equal(m.phase, 'running');
    assert.equal(m.health, 'healthy');
    assert.equal(m.detail, 'web: 2/2 tasks running');
    assert.deepEqual(m.replicas, { running: 2, desired: 2, nodes: ['node-a', 'node-b'] });
    assert.equal(member(service(2), tasks, false).health, 'none');
  });

  it('tasks on their way up are starting, saying where they are; a merely pending task is not a failure', () => {
    const m = member(service(3), [task('running', { node: 'node-a-id' }), task('preparing', { node: 'node-a-id' }), task('pending')]);
    assert.equal(m.phase, 'starting');
    assert.equal(m.failing, undefined);
    assert.equal(m.detail, 'web: 1/3 tasks running (1 preparing, 1 pending)');
    assert.equal(assessReadiness([m], { health: true }).kind, 'pending');
  });

  it('right after the scale-up, before Swarm made any task, it is being scheduled', () => {
    const m = member(service(1), []);
    assert.equal(m.phase, 'starting');
    assert.equal(m.detail, 'web: 0/1 tasks running (being scheduled)');
  });

  it('a health-checked task that Swarm holds in starting is not healthy yet', () => {
    const m = member(service(1), [task('starting', { node: 'node-a-id' })], true);
    assert.equal(m.phase, 'starting');
    assert.equal(m.health, 'starting');
    assert.equal(m.detail, 'web: 0/1 tasks running (1 not healthy yet)');
  });

  it('a task the scheduler cannot place is failing, in the scheduler\'s own words, and the wake fails at once and rolls back', () => {
    const err = 'no suitable node (scheduling constraints not satisfied on 1 node)';
    const m = member(service(1), [task('pending', { err })]);
    assert.equal(m.phase, 'starting');
    assert.equal(m.failing, true);
    assert.equal(m.detail, `web: 0/1 tasks running: ${err}`);
    assert.deepEqual(assessReadiness([m], { health: true }), { kind: 'down', detail: m.detail, anyUp: true });
  });

  it('a task refused by its node (image missing) since the wake is failing, with the node named', () => {
    const m = member(service(1), [task('rejected', { desired: 'shutdown', err: 'No such image: nosuch:latest', node: 'node-b-id' }), task('new', { desired: 'ready' })]);
    assert.equal(m.failing, true);
    assert.equal(m.detail, 'web: 0/1 tasks running: rejected on node-b: No such image: nosuch:latest');
  });

  it('a task that exited since the wake is failing; one that failed before the wake is history', () => {
    const crashed = member(service(1), [task('failed', { desired: 'shutdown', err: 'task: non-zero exit (3)', exitCode: 3 })]);
    assert.equal(crashed.failing, true);
    assert.match(crashed.detail, /its task failed: task: non-zero exit \(3\)$/);
    const old = member(service(1), [task('failed', { desired: 'shutdown', err: 'task: non-zero exit (3)', created: '2026-11-27T11:59:00Z' }), task('assigned', { node: 'node-a-id' })]);
    assert.equal(old.failing, undefined);
    assert.equal(old.detail, 'web: 0/1 tasks running (1 assigned)');
  });

  it('the most recent failure is the one reported', () => {
    const m = member(service(1), [
      task('rejected', { desired: 'shutdown', err: 'first', at: '2026-11-27T12:00:01Z' }),
      task('rejected', { desired: 'ready', err: 'second', at: '2026-11-27T12:00:05Z' }),
    ]);
    assert.match(m.detail, /: rejected: second$/);
  });

  it('with some tasks running, a failure of another is reported but the service is starting, not failing', () => {
    const m = member(service(2), [task('running', { node: 'node-a-id' }), task('pending', { err: 'no suitable node (max replicas per node limit exceed)' })]);
    assert.equal(m.phase, 'starting');
    assert.equal(m.failing, undefined);
    assert.equal(m.detail, 'web: 1/2 tasks running (1 pending; last failure: no suitable node (max replicas per node limit exceed))');
  });

  it('global services and jobs cannot be scaled, and say so', () => {
    assert.match(unscalableReason({ Name: 'agent', Mode: { Global: {} } }) ?? '', /agent is a global service .* cannot scale to 0.*deploy\.mode: replicated/);
    assert.match(unscalableReason({ Name: 'once', Mode: { ReplicatedJob: {} } }) ?? '', /once is a Swarm job/);
    assert.equal(unscalableReason({ Name: 'web', Mode: { Replicated: { Replicas: 0 } } }), null);
  });
});

describe('how many replicas a wake scales to', () => {
  it('proxytainer.replicas first, then the count remembered at sleep, then 1', () => {
    assert.equal(wakeReplicas({ 'proxytainer.replicas': '3', [REMEMBERED_REPLICAS_LABEL]: '5' }).count, 3);
    assert.equal(wakeReplicas({ [REMEMBERED_REPLICAS_LABEL]: '5' }).count, 5);
    assert.equal(wakeReplicas({}).count, 1);
  });
  it('a bad proxytainer.replicas is passed over (discovery reports it)', () => {
    assert.equal(wakeReplicas({ 'proxytainer.replicas': 'three', [REMEMBERED_REPLICAS_LABEL]: '2' }).count, 2);
    assert.equal(wakeReplicas({ 'proxytainer.replicas': '0' }).count, 1);
  });
});

describe('the container proxytainer runs in', () => {
  it('is read from the files Docker bind-mounts into it', () => {
    const id = 'a'.repeat(64);
    const mountinfo = [
      '90 60 0:50 / / rw,relatime master:1 - overlay overlay rw',
      `201 90 254:0 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
    ].join('\n');
    assert.equal(containerIdFromMountinfo(mountinfo), id);
    assert.equal(containerIdFromMountinfo('22 1 0:21 / /proc rw - proc proc rw\n'), null);
  });
});
