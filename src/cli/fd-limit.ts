import { readFileSync } from 'node:fs';

/** This process's limit on open files (soft, then hard), from /proc/self/limits; null where it cannot be read. */
export function openFileLimit(limits = '/proc/self/limits'): { readonly soft: number; readonly hard: number } | null {
  try {
    const line = readFileSync(limits, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const [soft, hard] = (line ?? '').split(/\s{2,}/).slice(1, 3).map((value) => (value === 'unlimited' ? Infinity : Number(value)));
    return soft !== undefined && hard !== undefined && !Number.isNaN(soft) && !Number.isNaN(hard) ? { soft, hard } : null;
  } catch {
    return null;
  }
}

/** File descriptors the process needs besides held connections: listeners, Docker's socket, the control socket, logs. */
const BASE_DESCRIPTORS = 64;

/**
 * A warning when `--max-held` connections cannot all be held within the
 * open-file limit (each takes a descriptor; each one forwarded takes two),
 * or null when they fit.
 */
export function heldLimitWarning(maxHeld: number, limit: { readonly soft: number } | null): string | null {
  if (limit === null || limit.soft >= maxHeld + BASE_DESCRIPTORS) return null;
  return (
    `--max-held ${maxHeld} does not fit in this process's limit of ${limit.soft} open files: connections past about ${Math.max(0, limit.soft - BASE_DESCRIPTORS)} ` +
    `will be refused by the system (accept fails with EMFILE); raise the limit (ulimit -n ${maxHeld * 2 + BASE_DESCRIPTORS}; docker run --ulimit nofile=${maxHeld * 2 + BASE_DESCRIPTORS}) or lower --max-held`
  );
}
