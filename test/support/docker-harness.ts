import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import Docker from 'dockerode';
import { ROOT } from './paths.js';

export { ROOT } from './paths.js';

/** The engine the integration tests use: DOCKER_HOST, or the default socket. */
export const docker = new Docker();
export const TEST_IMAGE = process.env['PROXYTAINER_TEST_IMAGE'] ?? 'proxytainer-test:latest';
export const TEST_LABEL = 'proxytainer.test';
/** Each test process labels what it creates with its own run id, so parallel runs never remove each other's containers. */
export const RUN_ID = randomBytes(4).toString('hex');

async function engineProblem(): Promise<string | null> {
  try {
    await docker.ping();
  } catch (error) {
    return `no Docker engine answers (${error instanceof Error ? error.message : String(error)}); start one with: bash scripts/engine.sh`;
  }
  const build = spawnSync('bash', ['scripts/build-test-images.sh'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) return `the test image could not be built: ${build.stderr}`;
  return null;
}

const problem = await engineProblem();

/**
 * A suite that needs a real Docker engine. Without one it is skipped on a
 * developer's machine, and fails under CI (CI=true), so a missing engine can
 * never pass for green.
 */
export function dockerSuite(name: string, body: () => void): void {
  if (problem === null) {
    describe(name, body);
  } else if (process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false') {
    describe(name, () => {
      throw new Error(problem);
    });
  } else {
    describe(name, { skip: problem }, body);
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface MemberSpec {
  readonly group: string;
  readonly name?: string;
  /** Arguments to test/fixtures/server.mjs. */
  readonly server?: readonly string[];
  /** A command instead of the test server. */
  readonly cmd?: readonly string[];
  /** `host` (default) or a network the test created. */
  readonly network?: string;
  readonly aliases?: readonly string[];
  /** Healthcheck `test -f /tmp/healthy` at this interval (ms). */
  readonly healthIntervalMs?: number;
  readonly healthRetries?: number;
  readonly healthStartPeriodMs?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly stopTimeoutSeconds?: number;
  /** Bind mounts, `host:container[:ro]`. */
  readonly binds?: readonly string[];
}

const MS = 1_000_000;

/** Creates (but does not start) a group member running the test server. */
export async function createMember(spec: MemberSpec): Promise<Docker.Container> {
  const network = spec.network ?? 'host';
  const healthcheck =
    spec.healthIntervalMs === undefined
      ? undefined
      : {
          Test: ['CMD', 'test', '-f', '/tmp/healthy'],
          Interval: spec.healthIntervalMs * MS,
          Timeout: 2000 * MS,
          Retries: spec.healthRetries ?? 1000,
          StartPeriod: (spec.healthStartPeriodMs ?? 0) * MS,
        };
  return docker.createContainer({
    name: spec.name ?? uniqueName(spec.group),
    Image: TEST_IMAGE,
    Cmd: [...(spec.cmd ?? ['node', '/srv/server.mjs', ...(spec.server ?? [])])],
    Labels: { [TEST_LABEL]: RUN_ID, 'proxytainer.group': spec.group, ...spec.labels },
    ...(healthcheck === undefined ? {} : { Healthcheck: healthcheck }),
    ...(spec.stopTimeoutSeconds === undefined ? {} : { StopTimeout: spec.stopTimeoutSeconds }),
    HostConfig: { NetworkMode: network, AutoRemove: false, ...(spec.binds === undefined ? {} : { Binds: [...spec.binds] }) },
    ...(network === 'host' || spec.aliases === undefined
      ? {}
      : { NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [...spec.aliases] } } } }),
  });
}

const STALE_SECONDS = 3600;

/** Removes the containers and networks this test run made, and any a crashed run left more than an hour ago. */
export async function removeTestObjects(): Promise<void> {
  const now = Date.now() / 1000;
  const containers = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  const ours = containers.filter((c) => c.Labels[TEST_LABEL] === RUN_ID || now - c.Created > STALE_SECONDS);
  await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters: { label: [`${TEST_LABEL}=${RUN_ID}`] } });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
}

export async function createNetwork(): Promise<string> {
  const name = uniqueName('proxytainer-test-net');
  await docker.createNetwork({ Name: name, Labels: { [TEST_LABEL]: RUN_ID } });
  return name;
}

export async function containerState(container: Docker.Container): Promise<{ status: string; health: string | undefined }> {
  const info = await container.inspect();
  return { status: info.State.Status, health: info.State.Health?.Status };
}

/** A recorded Docker event, as the engine wrote it. */
export interface RecordedEvent {
  readonly Action: string;
  readonly timeNano: number;
  readonly Actor: { readonly ID: string; readonly Attributes: Readonly<Record<string, string>> };
}

/** Docker's own record of container events since `since` (seconds) up to now, filtered on the engine's side. */
export async function recordedEvents(since: number, filters: Readonly<Record<string, string[]>>): Promise<RecordedEvent[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const stream = await docker.getEvents({ since, until, filters: { type: ['container'], ...filters } });
  const text = await new Promise<string>((resolve, reject) => {
    let data = '';
    stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
    stream.on('end', () => {
      resolve(data);
    });
    stream.on('error', reject);
  });
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedEvent);
}

/** The names of a group's containers that had `action` since `since` (seconds). */
export async function groupEvents(group: string, since: number, action: string): Promise<string[]> {
  const events = await recordedEvents(since, { event: [action], label: [`proxytainer.group=${group}`] });
  return events.map((event) => event.Actor.Attributes['name'] ?? event.Actor.ID);
}

export { eventually } from './wait.js';
