import { parseHostPort } from './address.js';

/** The reason `proxytainer wake` gives the group; the --no-wait form adds a note. */
export const WAKE_COMMAND_REASON = 'wake requested (proxytainer wake)';
export const WAKE_COMMAND_NO_WAIT_REASON = 'wake requested (proxytainer wake --no-wait)';

/**
 * Who or what woke a group, in a shape for JSON (status, webhooks):
 * - `connection`: a client connected; `client` is null when it had gone before
 *   its address could be read, `port` the listener's port;
 * - `operator`: `proxytainer wake`;
 * - `outside`: every member was started outside proxytainer (`docker start`);
 * - `other`: anything else the core gives as a reason (connections that waited for a stop).
 */
export type WakeCause =
  | { readonly kind: 'connection'; readonly client: { readonly address: string; readonly port: number } | null; readonly port: number }
  | { readonly kind: 'operator'; readonly via: 'CLI' }
  | { readonly kind: 'outside' }
  | { readonly kind: 'other' };

/** The listener's reason for a wake: `connection from 203.0.113.7:51234 on port 443` (src/core/listener.ts). */
const CONNECTION = /^connection from (.+) on port (\d+)$/;

/**
 * Reads who woke the group from the reason its Idle → Starting (or Idle →
 * Running) transition gives. The reason is the one string the wake carries
 * through the lifecycle; test/unit/wake-history.test.ts pins the listener's
 * and the machine's wording, so a change there fails a test, not this silently.
 */
export function wakeCauseOf(reason: string): WakeCause {
  const connection = CONNECTION.exec(reason);
  if (connection !== null) {
    let client: { address: string; port: number } | null = null;
    try {
      const { host, port } = parseHostPort(connection[1] ?? '');
      client = { address: host, port };
    } catch {
      // 'a closed socket': the client left before its address was read.
    }
    return { kind: 'connection', client, port: Number(connection[2]) };
  }
  if (reason === WAKE_COMMAND_REASON || reason === WAKE_COMMAND_NO_WAIT_REASON) return { kind: 'operator', via: 'CLI' };
  if (reason.includes('started outside proxytainer')) return { kind: 'outside' };
  return { kind: 'other' };
}

/** The cause as status and the log say it: `connection from 203.0.113.7:51234 on port 443`, `wake command`. */
export function describeWakeCause(cause: WakeCause, reason: string): string {
  switch (cause.kind) {
    case 'connection':
      return reason;
    case 'operator':
      return reason === WAKE_COMMAND_NO_WAIT_REASON ? 'wake command (--no-wait)' : 'wake command';
    case 'outside':
      return 'start made outside proxytainer (every member is running)';
    case 'other':
      return reason;
  }
}
