import { LABEL, parseReplicas } from '../core/labels.js';

/**
 * The service label proxytainer writes in the same update that scales a
 * service to 0: how many replicas it had. It lives in Docker, not in the
 * proxy's memory, so a restarted proxy (or another one, or `proxytainer
 * wake` without a proxy) wakes the service to what it was.
 */
export const REMEMBERED_REPLICAS_LABEL = 'proxytainer.replicas-when-awake';

/** How many replicas a wake scales a service to, and why, for the log. */
export function wakeReplicas(labels: Readonly<Record<string, string>>): { readonly count: number; readonly why: string } {
  const asked = labels[LABEL.replicas];
  if (asked !== undefined) {
    try {
      return { count: parseReplicas(asked), why: `${LABEL.replicas}=${asked}` };
    } catch {
      // Reported by discovery and status as a label problem; the wake goes on as if the label were absent.
    }
  }
  const remembered = labels[REMEMBERED_REPLICAS_LABEL];
  if (remembered !== undefined) {
    try {
      return { count: parseReplicas(remembered), why: 'as many as it had when proxytainer put it to sleep' };
    } catch {
      // Written by proxytainer, so only a hand edit gets here; fall through to one.
    }
  }
  return { count: 1, why: `it has no ${LABEL.replicas} label and proxytainer never put it to sleep` };
}
