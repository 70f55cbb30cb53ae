import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, errorCode } from '../core/errors.js';

/** Where root's proxies keep their sockets. */
const ROOT_DIR = '/run/proxytainer';
/** Where systemd gives each logged-in user a runtime directory. */
const USER_RUNTIME_DIRS = '/run/user';

/**
 * Where a proxy puts its control socket: one `<pid>.sock` per proxy, so
 * `status` can find every proxy on the machine. Root uses /run/proxytainer;
 * other users $XDG_RUNTIME_DIR/proxytainer, else a per-user directory under
 * the system temp dir.
 */
export function defaultControlDir(env: NodeJS.ProcessEnv, uid: number): string {
  if (uid === 0) return ROOT_DIR;
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir !== undefined && runtimeDir !== '') return join(runtimeDir, 'proxytainer');
  return join(tmpdir(), `proxytainer-${uid}`);
}

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** The entries of `dir` whose names match, as full paths; none when it does not exist or cannot be read. */
function entries(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => pattern.test(name))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/**
 * Every directory where a proxy on this machine may keep its socket: the
 * user's own first, then root's, then every other user's that exists.
 */
export function controlDirs(env: NodeJS.ProcessEnv, uid: number): string[] {
  const dirs = [
    defaultControlDir(env, uid),
    ROOT_DIR,
    ...entries(USER_RUNTIME_DIRS, /^\d+$/).map((dir) => join(dir, 'proxytainer')),
    ...entries(tmpdir(), /^proxytainer-\d+$/),
  ];
  return [...new Set(dirs)];
}

/** The `*.sock` files in `dir`, or why they cannot be listed (null when the directory does not exist). */
export function socketsIn(dir: string): { sockets: string[]; problem: string | null } {
  try {
    return { sockets: readdirSync(dir).filter((name) => name.endsWith('.sock')).sort().map((name) => join(dir, name)), problem: null };
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { sockets: [], problem: null };
    const why = code === 'EACCES' ? 'permission denied (its proxies belong to another user; run as that user or root)' : describeError(error);
    return { sockets: [], problem: `cannot look for proxies in ${dir}: ${why}` };
  }
}

/** The gid of the `docker` group, when this machine has one. */
export function dockerGroupId(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('docker:'));
    const gid = Number(line?.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}
