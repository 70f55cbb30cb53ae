import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { docker, RUN_ID, TEST_IMAGE, TEST_LABEL, uniqueName } from './docker-harness.js';
import { mustRun } from './compose.js';
import { createServer } from 'node:net';
import { eventually } from './wait.js';

/**
 * Single-node swarm mode for the tests that need it, shared by every test
 * process on the machine: the first one in inits the swarm when the engine is
 * not in swarm mode, and the last one out leaves it, but only if a test made
 * it. A lock directory keeps joining and leaving from interleaving.
 */
const STATE = join(tmpdir(), 'proxytainer-test-swarm');
const USERS = join(STATE, 'users');
const MADE = join(STATE, 'made-by-tests');
const LOCK = join(STATE, 'lock');

async function locked<T>(body: () => Promise<T>): Promise<T> {
  mkdirSync(STATE, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) rmdirSync(LOCK); // a holder that died; take it over
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await body();
  } finally {
    rmdirSync(LOCK);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function swarmState(): Promise<string> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
  return info.Swarm?.LocalNodeState ?? 'inactive';
}

/** Puts the engine in swarm mode for this test process, if it is not already. */
export async function joinTestSwarm(): Promise<void> {
  await locked(async () => {
    mkdirSync(USERS, { recursive: true });
    writeFileSync(join(USERS, String(process.pid)), '');
    if ((await swarmState()) === 'active') return;
    await mustRun('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    writeFileSync(MADE, `${process.pid}\n`);
  });
}

/** This test process is done with swarm mode: the last one out leaves it, if tests made it. */
export async function leaveTestSwarm(): Promise<void> {
  await locked(async () => {
    rmSync(join(USERS, String(process.pid)), { force: true });
    if (!existsSync(MADE)) return;
    const others = readdirSync(USERS).filter((pid) => alive(Number(pid)));
    if (others.length > 0) return;
    rmSync(MADE, { force: true });
    await mustRun('docker', ['swarm', 'leave', '--force']);
  });
}

export interface ServiceSpec {
  readonly group?: string;
  readonly name?: string;
  readonly replicas?: number;
  /** Arguments to test/fixtures/server.mjs; each replica gets `--port` of `port` + its slot - 1 (host network). */
  readonly server?: readonly string[];
  readonly port?: number;
  /** A command instead of the test server. */
  readonly cmd?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Healthcheck `test -f /tmp/healthy` at this interval (ms). */
  readonly healthIntervalMs?: number;
  readonly constraints?: readonly string[];
  readonly global?: boolean;
  /** `host` (default) or a network the test created. */
  readonly network?: string;
}

const MS = 1_000_000;

/**
 * Creates a service running the test server on the host network (the
 * routing mesh does not work on every machine; the host network does). Each
 * replica listens on `port` + its slot - 1, so several fit on one node.
 */
export async function createService(spec: ServiceSpec): Promise<{ id: string; name: string }> {
  const name = spec.name ?? uniqueName(spec.group ?? 'svc');
  const server = spec.server ?? [];
  const command =
    spec.cmd !== undefined
      ? [...spec.cmd]
      : ['sh', '-c', `exec node /srv/server.mjs --port $((${spec.port ?? 0} + SLOT - 1)) ${server.join(' ')}`];
  const created = (await docker.createService({
    Name: name,
    Labels: { [TEST_LABEL]: RUN_ID, ...(spec.group === undefined ? {} : { 'proxytainer.group': spec.group }), ...spec.labels },
    TaskTemplate: {
      ContainerSpec: {
        Image: TEST_IMAGE,
        Command: command,
        Env: ['SLOT={{.Task.Slot}}'],
        StopGracePeriod: 2000 * MS,
        ...(spec.healthIntervalMs === undefined
          ? {}
          : { Healthcheck: { Test: ['CMD', 'test', '-f', '/tmp/healthy'], Interval: spec.healthIntervalMs * MS, Timeout: 2000 * MS, Retries: 1000 } }),
      },
      Networks: [{ Target: spec.network ?? 'host' }],
      ...(spec.constraints === undefined ? {} : { Placement: { Constraints: [...spec.constraints] } }),
      RestartPolicy: { Condition: 'any', Delay: 1000 * MS },
    },
    Mode: spec.global === true ? { Global: {} } : { Replicated: { Replicas: spec.replicas ?? 0 } },
  })) as { id?: string; ID?: string };
  return { id: created.id ?? created.ID ?? name, name };
}

interface TaskView {
  readonly DesiredState: string;
  readonly Status: { readonly State: string };
}

const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

/** Desired replicas, tasks Swarm reports running, and tasks not ended yet (running or on their way up or down). */
export async function serviceScale(name: string): Promise<{ desired: number; running: number; alive: number; labels: Record<string, string> }> {
  const service = (await docker.getService(name).inspect()) as { Spec: { Labels?: Record<string, string>; Mode: { Replicated?: { Replicas?: number } } } };
  const tasks = (await docker.listTasks({ filters: { service: [name] } })) as TaskView[];
  return {
    desired: service.Spec.Mode.Replicated?.Replicas ?? 0,
    running: tasks.filter((task) => task.DesiredState === 'running' && task.Status.State === 'running').length,
    alive: tasks.filter((task) => !ENDED.has(task.Status.State)).length,
    labels: service.Spec.Labels ?? {},
  };
}

/** Scales a service as `docker service scale` would, and waits until as many tasks run. */
export async function scaleService(name: string, replicas: number): Promise<void> {
  await mustRun('docker', ['service', 'scale', '--detach', `${name}=${replicas}`]);
  await waitForScale(name, replicas, 60_000);
}

/** Waits until `replicas` are desired, as many run, and (at 0) nothing is left running. */
export async function waitForScale(name: string, replicas: number, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const { desired, running } = await serviceScale(name);
      return desired === replicas && running === replicas;
    },
    timeoutMs,
    `service ${name} at ${replicas} replica(s), all running`,
  );
}

/** Removes the services this test run made, and any a crashed run left more than an hour ago. */
export async function removeTestServices(): Promise<void> {
  let services: Docker.Service[];
  try {
    services = await docker.listServices({ filters: { label: [TEST_LABEL] } });
  } catch {
    return; // not in swarm mode: there are none
  }
  const now = Date.now();
  const ours = services.filter((s) => s.Spec?.Labels?.[TEST_LABEL] === RUN_ID || now - Date.parse(s.CreatedAt ?? '') > 3_600_000);
  await Promise.all(ours.map((s) => docker.getService(s.ID).remove().catch(() => undefined)));
}

/** Where the kernel picks local ports for outgoing connections (Linux's default ip_local_port_range). */
const EPHEMERAL_FIRST = 32768;

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * `count` consecutive ports free on 127.0.0.1, for the replicas of a host-network
 * service (one port per slot). Taken below the ephemeral range: a port from
 * there (what freePort gives) can become the local end of any outgoing
 * connection before the task starts, and its listen then fails.
 */
export async function freePorts(count = 1): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * (EPHEMERAL_FIRST - 20_000 - count));
    let all = true;
    for (let port = first; all && port < first + count; port++) all = await bindable(port);
    if (all) return first;
  }
}
