import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where running proxies put their control sockets: one `<pid>.sock` per
 * proxy, so `status` can find every proxy on the machine. Root uses
 * /run/proxytainer; other users $XDG_RUNTIME_DIR/proxytainer, else a
 * per-user directory under the system temp dir.
 */
export function defaultControlDir(env: NodeJS.ProcessEnv, uid: number): string {
  if (uid === 0) return '/run/proxytainer';
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir !== undefined && runtimeDir !== '') return join(runtimeDir, 'proxytainer');
  return join(tmpdir(), `proxytainer-${uid}`);
}

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** Every `*.sock` file in `dir`. */
export function socketsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sock'))
    .sort()
    .map((name) => join(dir, name));
}

/** The control sockets to ask: the one given explicitly, or every socket in the default directory. */
export function controlSockets(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  return explicit === undefined ? socketsIn(defaultControlDir(env, currentUid())) : [explicit];
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
