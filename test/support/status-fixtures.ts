import type { GroupStatus } from '../../src/control/status-document.js';

/** A group as a proxy reports it in the status document: Idle and quiet, unless `extra` says otherwise. */
export function groupStatus(name: string, extra: Partial<GroupStatus> = {}): GroupStatus {
  return {
    name,
    proxy: 1,
    state: 'Idle',
    members: { running: 0, total: 1, list: [] },
    listeners: [],
    connections: { open: 0, held: 0 },
    bytes: { in: 0, out: 0 },
    lastActivity: null,
    sleepsInSeconds: null,
    settings: null,
    problems: [],
    sleeping: 'stopped',
    startOrder: [],
    waitingFor: null,
    backoff: { failures: 0, retryInSeconds: null },
    ...extra,
  };
}
