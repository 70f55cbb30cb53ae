import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './docker-harness.js';

export const BIN = join(ROOT, 'bin', 'proxytainer');

/** A proxytainer process started from bin/, as a user would, with its log kept for assertions. */
export class ProxyProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly watchers = new Set<() => void>();
  stdout = '';

  private constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(BIN, [...args], {
      cwd: ROOT,
      env: { ...process.env, PROXYTAINER_LOG: 'debug', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const watcher of this.watchers) watcher();
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (pending !== '') this.lines.push(pending);
        for (const watcher of this.watchers) watcher();
        resolve({ code, signal });
      });
    });
  }

  /** Starts the proxy; with `ready`, waits until it listens. */
  static async start(args: readonly string[], options: { env?: NodeJS.ProcessEnv; ready?: boolean } = {}): Promise<ProxyProcess> {
    const proxy = new ProxyProcess(args, options.env ?? {});
    if (options.ready !== false) await proxy.waitFor(/listening on /, 15_000);
    return proxy;
  }

  /** True once the process has exited. */
  get exitedAlready(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get log(): string {
    return this.lines.join('\n');
  }

  /** Lines matching `pattern` so far. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  /** Resolves with the first line (from the start) matching `pattern`, or the `count`-th one. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, count = 1): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.matching(pattern);
        if (found.length >= count) {
          done();
          resolve(found[count - 1] ?? '');
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no log line matching ${String(pattern)} within ${timeoutMs}ms; log so far:\n${this.log}`));
      }, timeoutMs);
      const watcher = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
      };
      if (!check()) this.watchers.add(watcher);
    });
  }

  /** Sends `signal` and waits for the process to exit; a process that ignores it is killed after 15s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
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
