import { spawnSync } from 'node:child_process';
import { docker } from './docker-harness.js';
import { type CommandResult, runCommand } from './run-command.js';

/** Like runCommand, but a non-zero exit is an error that shows the end of the output. */
export async function mustRun(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${[command, ...args].join(' ')} exited with ${result.code}:\n${tail}`);
  }
  return result;
}

function works(command: string, args: readonly string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/**
 * The compose command of this machine: `docker compose` (v2) where the plugin
 * is installed, else `docker-compose`. Where neither is, Debian's
 * docker-compose is installed with apt-get (as root, as in CI).
 */
export async function composeCommand(): Promise<readonly string[]> {
  if (works('docker', ['compose', 'version'])) return ['docker', 'compose'];
  if (works('docker-compose', ['version'])) return ['docker-compose'];
  if (process.getuid?.() !== 0 || !works('apt-get', ['--version'])) {
    throw new Error('neither `docker compose` nor `docker-compose` is installed (Debian/Ubuntu: apt-get install docker-compose)');
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await mustRun('apt-get', ['update', '-qq'], { env });
  await mustRun('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker-compose'], { env });
  if (!works('docker-compose', ['version'])) throw new Error('docker-compose was installed but does not run');
  return ['docker-compose'];
}

/** One compose project: the files it is made of, its name, and the environment compose interpolates. */
export class ComposeProject {
  constructor(
    private readonly command: readonly string[],
    readonly name: string,
    private readonly files: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    /** Options before the subcommand, e.g. `--profile discovery`. */
    private readonly options: readonly string[] = [],
  ) {}

  private args(args: readonly string[]): string[] {
    return [...this.command.slice(1), '-p', this.name, ...this.files.flatMap((file) => ['-f', file]), ...this.options, ...args];
  }

  run(...args: string[]): Promise<CommandResult> {
    return mustRun(this.command[0] ?? 'docker-compose', this.args(args), { env: this.env });
  }

  /** The project's container of `service`, found by compose's own labels (v1 and v2 name containers differently). */
  async container(service: string): Promise<{ id: string; state: string }> {
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${this.name}`, `com.docker.compose.service=${service}`] },
    });
    const first = found[0];
    if (first === undefined) throw new Error(`compose project ${this.name} has no container for ${service}`);
    return { id: first.Id, state: first.State };
  }

  /** `down -v --remove-orphans`, never throwing: for cleanup. */
  async down(): Promise<void> {
    await runCommand(this.command[0] ?? 'docker-compose', this.args(['down', '-v', '--remove-orphans', '--timeout', '2']), { env: this.env });
  }
}

/** A container's log (stdout and stderr), demultiplexed from Docker's framed stream. */
export async function containerLog(id: string): Promise<string> {
  const raw = await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false });
  const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
  const parts: Buffer[] = [];
  let offset = 0;
  // Each frame: 1 byte stream, 3 bytes zero, 4 bytes big-endian length, then the payload (no TTY).
  while (offset + 8 <= buffer.length && (buffer[offset] === 1 || buffer[offset] === 2) && buffer.readUIntBE(offset + 1, 3) === 0) {
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return offset === 0 ? buffer.toString() : Buffer.concat(parts).toString();
}

/** Polls a container's log until `pattern` has matched `count` lines; the error shows the log. */
export async function waitForLog(id: string, pattern: RegExp, timeoutMs: number, count = 1): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await containerLog(id);
    const found = log.split('\n').filter((line) => pattern.test(line));
    const line = found[count - 1];
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no ${count > 1 ? `${count} log lines` : 'log line'} matching ${String(pattern)} within ${timeoutMs}ms; the log:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
