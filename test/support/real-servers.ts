/**
 * Real PostgreSQL and Redis servers as group members, for tests and the bench
 * that must show proxytainer with the servers and clients users run.
 *
 * No registry is needed: the members run Debian's own binaries from the host's
 * /usr (read-only) in a skeleton image (scripts/build-server-image.sh), as a
 * numeric user named in the host's /etc/passwd (PostgreSQL refuses root).
 * scripts/server-packages.sh installs the packages.
 *
 * PostgreSQL's data directory: `initdb` runs once per process (about 2 s here)
 * into a template; each member gets its own copy (`cp -a`, about 0.1 s),
 * bind-mounted, so its server starts in about 0.4 s after `docker start` on
 * every start, the first one included. (initdb at container start instead
 * costs 1.6 s on the first start; copying the template in at start, 0.3 s.)
 * Everything lives under one directory per process, removed when it exits.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import type Docker from 'dockerode';
import { docker, dockerSuite, ROOT, RUN_ID, TEST_LABEL, uniqueName } from './docker-harness.js';

export const SERVER_IMAGE = process.env['PROXYTAINER_SERVER_IMAGE'] ?? 'proxytainer-servers:latest';
const MS = 1_000_000;
const INSTALL_HINT = 'install them with: bash scripts/server-packages.sh';

/** The newest PostgreSQL major version's binary directory (Debian: /usr/lib/postgresql/N/bin), or null. */
export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(base, versions[0], 'bin');
}

function pgBin(program: string): string {
  const bin = postgresBin();
  if (bin === null) throw new Error(`PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/postgres); ${INSTALL_HINT}`);
  return join(bin, program);
}

/** `uid:gid` of a user in the host's /etc/passwd, which the members mount. */
function passwdUser(name: string): string | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return `${uid}:${gid}`;
  }
  return null;
}

/**
 * Who the servers run as: a non-root developer's own uid (so the data files
 * stay theirs), or, as root, the user the package made (`postgres`, `redis`).
 */
function serverUser(name: string): string {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return `${uid}:${process.getgid?.() ?? uid}`;
  const user = passwdUser(name);
  if (user === null) throw new Error(`no user "${name}" in /etc/passwd (its package creates it); ${INSTALL_HINT}`);
  return user;
}

export type ServerKind = 'postgres' | 'redis' | 'dns';

/** What keeps these real servers from running here, or null. Builds the image when it is missing or stale. */
export function realServersProblem(kinds: readonly ServerKind[] = ['postgres', 'redis']): string | null {
  const missing: string[] = [];
  if (kinds.includes('postgres')) {
    const bin = postgresBin();
    if (bin === null) missing.push('postgresql');
    for (const program of ['psql', 'pgbench', 'pg_isready', 'initdb']) {
      if (bin !== null && !existsSync(join(bin, program))) missing.push(`${program} (postgresql-client)`);
    }
  }
  if (kinds.includes('redis')) {
    for (const program of ['redis-server', 'redis-cli', 'redis-benchmark']) {
      if (!existsSync(join('/usr/bin', program))) missing.push(program);
    }
  }
  if (kinds.includes('dns')) {
    if (!existsSync('/usr/sbin/dnsmasq')) missing.push('dnsmasq (dnsmasq-base)');
    if (!existsSync('/usr/bin/dig')) missing.push('dig (bind9-dnsutils)');
  }
  if (missing.length > 0) return `missing ${missing.join(', ')}; ${INSTALL_HINT}`;
  const build = spawnSync('bash', ['scripts/build-server-image.sh'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) return `the server image could not be built: ${build.stderr}`;
  return null;
}

/**
 * A suite with real servers: a Docker suite that is skipped on a developer's
 * machine without the packages, and fails under CI, so a missing install never
 * passes for green.
 */
export function realServersSuite(name: string, body: () => void, kinds?: readonly ServerKind[]): void {
  const problem = realServersProblem(kinds);
  if (problem === null) {
    dockerSuite(name, body);
  } else if (process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false') {
    describe(name, () => {
      throw new Error(problem);
    });
  } else {
    describe(name, { skip: problem }, body);
  }
}

let runDir: string | null = null;

/** This process's directory for data files, removed when the process exits (whatever is still mounted). */
function workDir(): string {
  if (runDir === null) {
    const dir = mkdtempSync(join(tmpdir(), `proxytainer-servers-${RUN_ID}-`));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
    runDir = dir;
  }
  return runDir;
}

function run(command: string, args: readonly string[]): void {
  const out = spawnSync(command, [...args], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${String(out.status ?? out.signal)}): ${out.stderr}`);
}

/** A directory on the host owned by `user` (uid:gid), for a container running as that user. */
function ownedDir(path: string, user: string): string {
  mkdirSync(path, { recursive: true });
  if ((process.getuid?.() ?? 0) === 0) run('chown', [user, path]);
  return path;
}

/** Host paths the members mount: /usr always; /lib and /lib64 only where they are not links into /usr. */
function hostMounts(): string[] {
  const binds = ['/usr:/usr:ro', '/etc/passwd:/etc/passwd:ro', '/etc/group:/etc/group:ro'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64']) {
    if (existsSync(dir) && !lstatSync(dir).isSymbolicLink()) binds.push(`${dir}:${dir}:ro`);
  }
  return binds;
}

/** Runs one command in a throwaway container from the server image; rejects with its output when it fails. */
async function runInContainer(cmd: readonly string[], user: string, binds: readonly string[]): Promise<void> {
  const container = await docker.createContainer({
    Image: SERVER_IMAGE,
    Cmd: [...cmd],
    User: user,
    Labels: { [TEST_LABEL]: RUN_ID },
    HostConfig: { NetworkMode: 'none', Binds: [...hostMounts(), ...binds] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`${cmd.join(' ')} exited ${StatusCode}:\n${await containerLogs(container)}`);
  } finally {
    await container.remove({ force: true });
  }
}

let template: Promise<string> | null = null;

/** A freshly initialised data directory (superuser `postgres`, trust auth, UTF-8), made once per process. */
function postgresTemplate(): Promise<string> {
  template ??= (async () => {
    const user = serverUser('postgres');
    const dir = ownedDir(join(workDir(), 'pg-template'), user);
    // -N: no fsync while initialising, the template is copied before any server uses it.
    await runInContainer([pgBin('initdb'), '-D', '/template/data', '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N'], user, [`${dir}:/template`]);
    return join(dir, 'data');
  })();
  return template;
}

interface MemberBase {
  readonly group: string;
  /** The port on 127.0.0.1 (host network) the server listens on; the test picks it (freePort). */
  readonly port: number;
  readonly name?: string;
  /** Docker HEALTHCHECK interval (default 250 ms); retries are many, so slow starts never count as unhealthy. */
  readonly healthIntervalMs?: number;
  readonly stopTimeoutSeconds?: number;
  /** Docker's default is SIGTERM: PostgreSQL's smart shutdown. The official postgres image sets SIGINT (fast). */
  readonly stopSignal?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PostgresMemberSpec extends MemberBase {
  /** Server settings, passed as `-c name=value`. */
  readonly settings?: Readonly<Record<string, string>>;
}

function memberConfig(spec: MemberBase, kind: string, health: readonly string[]): Docker.ContainerCreateOptions {
  return {
    name: spec.name ?? uniqueName(`${spec.group}-${kind}`),
    Image: SERVER_IMAGE,
    Labels: { [TEST_LABEL]: RUN_ID, 'proxytainer.group': spec.group, ...spec.labels },
    Healthcheck: { Test: [...health], Interval: (spec.healthIntervalMs ?? 250) * MS, Timeout: 5000 * MS, Retries: 1000, StartPeriod: 0 },
    ...(spec.stopTimeoutSeconds === undefined ? {} : { StopTimeout: spec.stopTimeoutSeconds }),
    ...(spec.stopSignal === undefined ? {} : { StopSignal: spec.stopSignal }),
  };
}

/**
 * Creates (does not start) a PostgreSQL member listening on 127.0.0.1:`port`,
 * superuser `postgres` with trust auth, its own copy of an initialised data
 * directory, logging to stderr (`containerLogs`), healthy once pg_isready is.
 */
export async function createPostgresMember(spec: PostgresMemberSpec): Promise<Docker.Container> {
  const user = serverUser('postgres');
  const data = join(workDir(), uniqueName(`pg-${spec.port}`));
  run('cp', ['-a', await postgresTemplate(), data]);
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '/tmp', ...spec.settings };
  const port = String(spec.port);
  return docker.createContainer({
    ...memberConfig(spec, 'postgres', ['CMD', pgBin('pg_isready'), '-q', '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', 'postgres']),
    Cmd: [pgBin('postgres'), '-D', '/data/pg', '-p', port, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    User: user,
    HostConfig: { NetworkMode: 'host', Binds: [...hostMounts(), `${data}:/data/pg`] },
  });
}

export interface RedisMemberSpec extends MemberBase {
  /** More redis-server arguments (`--name value`). */
  readonly args?: readonly string[];
}

/**
 * Creates (does not start) a Redis member listening on 127.0.0.1:`port`, with
 * persistence off (a stop loses the data set, a start is instant), healthy
 * once `redis-cli ping` answers PONG.
 */
export async function createRedisMember(spec: RedisMemberSpec): Promise<Docker.Container> {
  const port = String(spec.port);
  return docker.createContainer({
    // redis-cli exits 0 even for an error reply (LOADING…), so the answer itself is checked.
    ...memberConfig(spec, 'redis', ['CMD-SHELL', `redis-cli -h 127.0.0.1 -p ${port} ping | grep -qx PONG`]),
    Cmd: ['redis-server', '--bind', '127.0.0.1', '--port', port, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', '/tmp', ...(spec.args ?? [])],
    User: passwdUser('redis') ?? '65534:65534',
    HostConfig: { NetworkMode: 'host', Binds: hostMounts() },
  });
}

export interface DnsMemberSpec extends MemberBase {
  /** Names and the IPv4 address each resolves to (dnsmasq's --address=/name/address). */
  readonly records: Readonly<Record<string, string>>;
}

/**
 * Creates (does not start) a dnsmasq member answering DNS over UDP (and TCP)
 * on 127.0.0.1:`port` from `records` alone (no upstream servers, no hosts
 * file), healthy once `dig` gets an answer from it.
 */
export async function createDnsMember(spec: DnsMemberSpec): Promise<Docker.Container> {
  const port = String(spec.port);
  return docker.createContainer({
    ...memberConfig(spec, 'dns', ['CMD', 'dig', '@127.0.0.1', '-p', port, '+short', '+tries=1', '+time=1', 'health.test']),
    Cmd: [
      '/usr/sbin/dnsmasq',
      '--keep-in-foreground',
      '--log-facility=-',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--pid-file=',
      '--address=/health.test/127.0.0.1',
      ...Object.entries(spec.records).map(([name, address]) => `--address=/${name}/${address}`),
    ],
    User: '65534:65534', // nobody: a high port needs no privilege
    HostConfig: { NetworkMode: 'host', Binds: hostMounts() },
  });
}

/** A container's log (stdout and stderr in order, no timestamps), e.g. PostgreSQL's across every start. */
export async function containerLogs(container: Docker.Container): Promise<string> {
  const raw = await container.logs({ stdout: true, stderr: true, follow: false });
  // Without a TTY the engine multiplexes: each frame is [stream, 0, 0, 0, length (4 bytes BE)] then the bytes.
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const length = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** `State.ExitCode`: 0 after a clean stop, 137 when Docker had to SIGKILL. */
export async function exitCode(container: Docker.Container): Promise<number> {
  return (await container.inspect()).State.ExitCode;
}
