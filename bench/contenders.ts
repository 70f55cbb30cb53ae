/**
 * The contenders every throughput and short-connection measurement compares:
 * a direct connection, proxytainer, and three other TCP proxies with their
 * defaults. Each proxy listens on 127.0.0.1 and forwards to one upstream port.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { createMember, ROOT, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { findExecutable, Spawned, waitListening } from './processes.js';

export const PROXIES = ['proxytainer', 'haproxy', 'socat', 'systemd-socket-proxyd'] as const;
export type ProxyName = (typeof PROXIES)[number];
export type ContenderName = 'direct' | ProxyName;
export const CONTENDERS: readonly ContenderName[] = ['direct', ...PROXIES];

export const PROXYTAINER_BIN = join(ROOT, 'bin', 'proxytainer');

export interface Contender {
  readonly name: ContenderName;
  /** Where the client connects. */
  readonly port: number;
  readonly process: Spawned | null;
  stop(): Promise<void>;
}

/**
 * CPU seconds (user + system) the contender's process has used so far,
 * children it has waited for included (socat forks one per connection);
 * null for the direct connection, which has no process in the middle.
 */
export function contenderCpuSeconds(contender: Contender): number | null {
  if (contender.process === null) return null;
  const stat = readFileSync(`/proc/${contender.process.pid}/stat`, 'utf8');
  // Fields after the command name (in parentheses, may hold spaces): utime stime cutime cstime are 14-17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / CLOCK_TICKS;
}

/** Linux reports CPU times in USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS = 100;

let workDir: string | null = null;

/** A scratch directory for config files, removed by `removeWorkDir`. */
export function scratchDir(): string {
  workDir ??= mkdtempSync(join(tmpdir(), 'proxytainer-bench-'));
  return workDir;
}

export function removeWorkDir(): void {
  if (workDir !== null) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

/** `command args…` run with the soft open-file limit raised to the hard one. */
export function withFileLimit(command: string, args: readonly string[]): [string, string[]] {
  return ['bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', command, ...args]];
}

/** Starts proxytainer (static mode) and waits until it listens. */
export async function startProxytainer(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const [command, argv] = withFileLimit(PROXYTAINER_BIN, [...args]);
  const proxy = new Spawned(name, command, argv, { cwd: ROOT, env: { PROXYTAINER_LOG: 'info', NO_COLOR: '1', ...env } });
  try {
    await proxy.waitFor(/listening on /, 15_000);
  } catch (error) {
    await proxy.stop();
    throw error;
  }
  return proxy;
}

let warmGroup: Promise<{ group: string; container: Docker.Container }> | null = null;

/** A group whose one member runs (a container that just sleeps), so proxytainer forwards without waking anything. */
export function ensureWarmGroup(): Promise<{ group: string; container: Docker.Container }> {
  warmGroup ??= (async () => {
    const group = uniqueName('bench-warm');
    const container = await createMember({ group, cmd: ['sleep', '86400'] });
    await container.start();
    return { group, container };
  })();
  return warmGroup;
}

function tool(name: string, candidates: readonly string[] = []): string {
  const found = findExecutable(name, candidates);
  if (found === null) throw new Error(`${name} is not installed (bash scripts/bench-tools.sh installs it)`);
  return found;
}

/** Checks that every contender's program is installed; returns the missing ones with the reason. */
export function missingTools(): Map<ContenderName, string> {
  const missing = new Map<ContenderName, string>();
  const checks: [ContenderName, () => unknown][] = [
    ['haproxy', () => tool('haproxy', ['/usr/sbin/haproxy'])],
    ['socat', () => tool('socat')],
    ['systemd-socket-proxyd', () => [tool('systemd-socket-activate'), tool('systemd-socket-proxyd', SOCKET_PROXYD)]],
  ];
  for (const [name, check] of checks) {
    try {
      check();
    } catch (error) {
      missing.set(name, error instanceof Error ? error.message : String(error));
    }
  }
  return missing;
}

const SOCKET_PROXYD = ['/lib/systemd/systemd-socket-proxyd', '/usr/lib/systemd/systemd-socket-proxyd'];

async function started(name: ContenderName, port: number, proc: Spawned): Promise<Contender> {
  try {
    await waitListening(port, proc);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { name, port, process: proc, stop: () => proc.stop() };
}

/** Starts one contender in front of 127.0.0.1:`upstream`. */
export async function startContender(name: ContenderName, upstream: number): Promise<Contender> {
  if (name === 'direct') return { name, port: upstream, process: null, stop: () => Promise.resolve() };
  const port = await freePort();
  switch (name) {
    case 'proxytainer': {
      const { group } = await ensureWarmGroup();
      const proxy = await startProxytainer(name, ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1']);
      try {
        // The member already runs: the group turns Running from Docker's state, without a wake.
        await proxy.waitFor(/State change \(\w+ => Running\)/, 15_000);
      } catch (error) {
        await proxy.stop();
        throw error;
      }
      return { name, port, process: proxy, stop: () => proxy.stop() };
    }
    case 'haproxy': {
      const config = join(scratchDir(), `haproxy-tcp-${port}.cfg`);
      // mode tcp with haproxy's defaults; the three timeouts only keep it from warning at start.
      writeFileSync(
        config,
        [
          'defaults',
          '  mode tcp',
          '  timeout connect 5s',
          '  timeout client 1m',
          '  timeout server 1m',
          'frontend bench',
          `  bind 127.0.0.1:${port}`,
          '  default_backend upstream',
          'backend upstream',
          `  server upstream 127.0.0.1:${upstream}`,
          '',
        ].join('\n'),
      );
      return started(name, port, new Spawned(name, tool('haproxy', ['/usr/sbin/haproxy']), ['-db', '-f', config]));
    }
    case 'socat':
      return started(name, port, new Spawned(name, tool('socat'), [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${upstream}`]));
    case 'systemd-socket-proxyd':
      // Without --accept, systemd-socket-activate binds the socket and execs the proxy with it (same pid).
      // SIGPIPE is ignored, as systemd does for every service (IgnoreSIGPIPE=yes): the proxy counts on it
      // and dies of a peer's reset otherwise.
      return started(
        name,
        port,
        new Spawned(name, 'bash', [
          '-c',
          'trap "" PIPE; exec "$@"',
          'bash',
          tool('systemd-socket-activate'),
          '-l',
          `127.0.0.1:${port}`,
          tool('systemd-socket-proxyd', SOCKET_PROXYD),
          `127.0.0.1:${upstream}`,
        ]),
      );
  }
}

/** Starts every contender that can start; a failure is kept as its reason. */
export async function startAll(upstream: number, names: readonly ContenderName[] = CONTENDERS): Promise<Map<ContenderName, Contender | Error>> {
  const result = new Map<ContenderName, Contender | Error>();
  for (const name of names) {
    try {
      result.set(name, await startContender(name, upstream));
    } catch (error) {
      result.set(name, error instanceof Error ? error : new Error(String(error)));
    }
  }
  return result;
}

export async function stopAllContenders(contenders: Map<ContenderName, Contender | Error>): Promise<void> {
  for (const c of contenders.values()) if (!(c instanceof Error)) await c.stop();
}

/** `list` rotated left by `by`: round r starts with a different contender. */
export function rotate<T>(list: readonly T[], by: number): T[] {
  const n = list.length;
  if (n === 0) return [];
  const k = ((by % n) + n) % n;
  return [...list.slice(k), ...list.slice(0, k)];
}
