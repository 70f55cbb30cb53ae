import { readFile } from 'node:fs/promises';

/**
 * The ID of the container this process runs in, from the files Docker
 * bind-mounts into every container (/etc/hostname, /etc/hosts,
 * /etc/resolv.conf come from /var/lib/docker/containers/<id>/), which shows
 * under cgroup v1 and v2 alike; null when those mounts are not there (the
 * process runs on a host).
 */
export function containerIdFromMountinfo(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const mountPoint = fields[4];
    if (mountPoint !== '/etc/hostname' && mountPoint !== '/etc/hosts' && mountPoint !== '/etc/resolv.conf') continue;
    const id = /\/containers\/([0-9a-f]{64})\//.exec(fields[3] ?? '')?.[1];
    if (id !== undefined) return id;
  }
  return null;
}

/** The container this process runs in, or null (on a host, or where /proc cannot be read). */
export async function ownContainerId(): Promise<string | null> {
  try {
    return containerIdFromMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
  } catch {
    return null;
  }
}
