import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, ROOT } from './paths.js';
import { LineLog } from './line-log.js';
import { freePort } from './net.js';

export { BIN } from './paths.js';

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A proxytainer process started from bin/, as a user would, with its log (stderr) kept for assertions. */
export class ProxyProcess {
  readonly exited: Promise<Exit>;
  stdout = '';
  private readonly child: ChildProcess;
  private readonly stderr: LineLog;
  private exit: Exit | null = null;

  private constructor(args: readonly string[], env: NodeJS.ProcessEnv, wrapper: readonly string[]) {
    const [command = BIN, ...rest] = [...wrapper, BIN, ...args];
    this.child = spawn(command, rest, {
      cwd: ROOT,
      env: { ...process.env, PROXYTAINER_LOG: 'debug', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.stderr = new LineLog('proxytainer', () => (this.exit === null ? null : `exited (${String(this.exit.code ?? this.exit.signal)})`));
    this.stderr.follow(this.child.stderr);
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        this.stderr.changed();
        resolve(this.exit);
      });
    });
  }

  /** Starts the proxy; with `ready`, waits until it listens. */
  /** `wrapper` runs it through a command that execs it (`prlimit --nofile=256`), so `pid` is still the proxy's. */
  static async start(args: readonly string[], options: { env?: NodeJS.ProcessEnv; ready?: boolean; wrapper?: readonly string[] } = {}): Promise<ProxyProcess> {
    const proxy = new ProxyProcess(args, options.env ?? {}, options.wrapper ?? []);
    if (options.ready !== false) await proxy.waitFor(/listening on /, 15_000);
    return proxy;
  }

  /** The process id (bin/proxytainer execs node, so it is Node's). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once the process has exited. */
  get exitedAlready(): boolean {
    return this.exit !== null;
  }

  get lines(): readonly string[] {
    return this.stderr.lines;
  }

  get log(): string {
    return this.stderr.text;
  }

  /** Lines matching `pattern` so far. */
  matching(pattern: RegExp): string[] {
    return this.stderr.matching(pattern);
  }

  /** Resolves with the first line matching `pattern`, or the `count`-th one. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, count = 1): Promise<string> {
    return this.stderr.waitFor(pattern, timeoutMs, count);
  }

  /** Sends `signal` and waits for the process to exit; a process that ignores it is killed after 15s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.exit === null) this.child.kill(signal);
    const timer = setTimeout(() => {
      process.stderr.write(`proxytainer did not exit within 15s of ${signal}; killing it. Its log:\n${this.log}\n`);
      this.child.kill('SIGKILL');
    }, 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs proxytainer to completion (logging only what it logs by default) and returns its exit status and output. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proxy = await ProxyProcess.start(args, { env: { PROXYTAINER_LOG: '', ...env }, ready: false });
  const { code } = await proxy.exited;
  return { code, stdout: proxy.stdout, stderr: proxy.log };
}

/** A static-mode proxy for `group` on a free port, forwarding to 127.0.0.1:`upstream`; waits until it listens. */
export async function startStaticProxy(
  group: string,
  upstream: number,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proxy: ProxyProcess; port: number }> {
  const port = await freePort();
  const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, ...extra], { env });
  return { proxy, port };
}
