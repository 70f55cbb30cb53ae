/**
 * The real clients, run on the host against 127.0.0.1:PORT (a member's own
 * port, or proxytainer's in front of it): psql, pgbench, redis-cli,
 * redis-benchmark, dig. Each resolves with the exit code and the output; none
 * throws for a non-zero exit, so a test can assert on both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { postgresBin } from './real-servers.js';

export interface ClientResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** stdout as bytes, for binary values (redis-cli --raw GET). */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export interface ClientOptions {
  /** Bytes written to the client's stdin, which is then closed. */
  readonly input?: Buffer | string;
  /** The client is killed after this long (default 120 s: a wake on a loaded machine is slow); its result then has `signal` SIGKILL. */
  readonly timeoutMs?: number;
}

/** Runs `command args…` to its end. */
export function runClient(command: string, args: readonly string[], options: ClientOptions = {}): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A client that exits before reading all its input must not crash the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be started: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
    });
  });
}

function pgProgram(name: string): string {
  const bin = postgresBin();
  if (bin === null) throw new Error('PostgreSQL is not installed; install it with: bash scripts/server-packages.sh');
  return join(bin, name);
}

const pgTarget = (port: number): string[] => ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];

/** `psql -c SQL` as `postgres`, unaligned tuples only (`-At`), stopping at the first error. */
export function psql(port: number, sql: string, options: ClientOptions = {}): Promise<ClientResult> {
  return runClient(pgProgram('psql'), [...pgTarget(port), '-d', 'postgres', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], options);
}

/** `pgbench ARGS… postgres` as `postgres`, e.g. `['-i']`, `['-c', '4', '-T', '3']`. */
export function pgbench(port: number, args: readonly string[], options: ClientOptions = {}): Promise<ClientResult> {
  return runClient(pgProgram('pgbench'), [...pgTarget(port), ...args, 'postgres'], options);
}

/** `redis-cli ARGS…` against the port; `--raw` is added so values come back unquoted. */
export function redisCli(port: number, args: readonly string[], options: ClientOptions = {}): Promise<ClientResult> {
  return runClient('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--raw', ...args], options);
}

/** `redis-benchmark ARGS…` against the port, e.g. `['-t', 'set,get', '-c', '50', '-n', '100000', '-P', '16', '-q']`. */
export function redisBenchmark(port: number, args: readonly string[], options: ClientOptions = {}): Promise<ClientResult> {
  return runClient('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), ...args], options);
}

/**
 * An interactive psql session kept open: its stdin is a pipe that stays open,
 * as with a user at a prompt or an application's idle pooled connection.
 */
export class PsqlSession {
  private readonly child: ChildProcess;
  private output = '';
  private exited = false;
  private readonly closed: Promise<number | null>;

  private constructor(port: number) {
    this.child = spawn(pgProgram('psql'), [...pgTarget(port), '-d', 'postgres', '-X', '-At'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child.stdin?.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.child.once('close', (code) => {
        this.exited = true;
        resolve(code);
      }),
    );
  }

  /** Opens a session and resolves once the server answered a first query on it. */
  static async open(port: number, timeoutMs = 30_000): Promise<PsqlSession> {
    const session = new PsqlSession(port);
    session.child.stdin?.write("SELECT 'session ' || 'open';\n");
    await session.waitFor(/^session open$/m, timeoutMs);
    return session;
  }

  /** Everything psql printed so far (stdout and stderr). */
  get text(): string {
    return this.output;
  }

  /** Resolves once psql printed something matching `pattern`; rejects if it exits first or time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.exited) throw new Error(`psql exited before printing ${String(pattern)}; it printed:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`psql did not print ${String(pattern)} within ${timeoutMs}ms; it printed:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends one line of input (a query ending in `;`). */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Ends the session as a user would (end of input), or kills psql after `timeoutMs`; resolves with its exit code. */
  async close(timeoutMs = 5_000): Promise<number | null> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `dig @127.0.0.1 -p PORT +short NAME`: one query over UDP (one try, waiting up to a minute for a wake), the answer on stdout. */
export function dig(port: number, name: string, args: readonly string[] = []): Promise<ClientResult> {
  return runClient('dig', ['@127.0.0.1', '-p', String(port), '+short', '+tries=1', '+time=60', ...args, name]);
}
