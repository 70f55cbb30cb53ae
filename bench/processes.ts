/**
 * Processes the bench starts (proxies, upstreams, load generators): spawned
 * with their output kept, every one registered so that a failed run still
 * ends them, and their CPU time and peak memory readable from /proc.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { LineLog } from '../test/support/line-log.js';

const running = new Set<Spawned>();
/** Children of runToEnd (load generators), killed with the rest. */
const oneShots = new Set<ChildProcess>();
let shuttingDown = false;

// Whatever still runs when the bench exits (an interrupted run) is killed with it.
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
  for (const child of oneShots) child.kill('SIGKILL');
});

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** One child process, with its stdout and stderr kept line by line. */
export class Spawned {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly log: LineLog;
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ) {
    if (shuttingDown) throw new Error(`the bench is shutting down; ${name} not started`);
    this.child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    this.log = new LineLog(name, () => (this.exitStatus === null ? null : `exited (${describeExit(this.exitStatus)})`));
    this.log.follow(this.child.stdout);
    this.log.follow(this.child.stderr);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitStatus = { code: -1, signal: null };
        running.delete(this);
        this.log.push(`spawn failed: ${error.message}`);
        resolve(this.exitStatus);
      });
      this.child.once('close', (code, signal) => {
        this.exitStatus ??= { code, signal };
        running.delete(this);
        this.log.changed();
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} did not start: ${this.tail()}`);
    return pid;
  }

  get alive(): boolean {
    return this.exitStatus === null;
  }

  /** How it ended (`exit 1`, `signal SIGPIPE`), or `running`. */
  get status(): string {
    return this.exitStatus === null ? 'running' : describeExit(this.exitStatus);
  }

  get lines(): readonly string[] {
    return this.log.lines;
  }

  get output(): string {
    return this.log.text;
  }

  /** The last lines of output, for error messages. */
  tail(count = 8): string {
    return this.log.tail(count);
  }

  matching(pattern: RegExp): string[] {
    return this.log.matching(pattern);
  }

  /** Resolves with the `count`-th line matching `pattern`; rejects on timeout or when the process exits first. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, count = 1): Promise<string> {
    return this.log.waitFor(pattern, timeoutMs, count);
  }

  /** Sends `signal` and returns at once. */
  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Sends `signal`, and SIGKILL if the process is still there after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** User plus system CPU time so far, in seconds. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  /** Peak resident memory (VmHWM) so far, in bytes. */
  peakRssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match?.[1] === undefined) throw new Error(`no VmHWM in /proc/${this.pid}/status`);
    return Number(match[1]) * 1024;
  }
}

export function describeExit(status: { code: number | null; signal: NodeJS.Signals | null }): string {
  return status.signal === null ? `exit ${String(status.code)}` : `signal ${status.signal}`;
}

let clockTicks: number | null = null;

function ticksPerSecond(): number {
  if (clockTicks === null) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(out.stdout.trim());
    clockTicks = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** utime + stime of a process from /proc/<pid>/stat, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/** Ends every process the bench started and that still runs. */
export async function stopAll(): Promise<void> {
  shuttingDown = true;
  for (const child of oneShots) child.kill('SIGTERM');
  await Promise.all([...running].map((p) => p.stop('SIGTERM', 2_000)));
}

/** Runs a command to completion; resolves with its exit code and output. */
export async function runToEnd(name: string, command: string, args: readonly string[], timeoutMs: number, options: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (shuttingDown) throw new Error(`the bench is shutting down; ${name} not started`);
  const child = spawn(command, [...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  oneShots.add(child);
  child.once('close', () => oneShots.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => {
    stderr += `\n${name}: killed after ${timeoutMs}ms`;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      stderr += `\nspawn failed: ${error.message}`;
      resolve(-1);
    });
    child.once('close', (c) => {
      resolve(c);
    });
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Whether something listens on TCP `port` (from /proc/net/tcp{,6}, without connecting to it). */
export function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hex}`) === true) return true;
    }
  }
  return false;
}

/** Waits until something listens on `port`; rejects if `process` exits first or time runs out. */
export async function waitListening(port: number, owner: Spawned, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isListening(port)) {
    if (!owner.alive) throw new Error(`${owner.name} exited before listening on ${port}:\n${owner.tail()}`);
    if (Date.now() > deadline) throw new Error(`${owner.name} did not listen on ${port} within ${timeoutMs}ms:\n${owner.tail()}`);
    await sleep(20);
  }
}

/** Resolves once a TCP connect to `port` succeeds (the connection is closed at once). */
export async function waitConnectable(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeoutMs}ms`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Finds an executable on PATH or at one of the given absolute paths. */
export function findExecutable(name: string, candidates: readonly string[] = []): string | null {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there; try the next
    }
  }
  const out = spawnSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = out.stdout.trim();
  return out.status === 0 && found !== '' ? found : null;
}
