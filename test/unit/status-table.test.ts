import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { renderStatusTable } from '../../src/cli/status-table.js';
import type { GroupStatus, StatusDocument } from '../../src/control/status-document.js';

const group = (name: string, extra: Partial<GroupStatus>): GroupStatus => ({
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
});

describe('the status table', () => {
  it('says how an Idle group sleeps, when a backoff ends, and what a wake waits for, in the state column', () => {
    const doc: StatusDocument = {
      schemaVersion: 1,
      proxies: [],
      groups: [
        group('dozing', { sleeping: 'paused' }),
        group('failing', { backoff: { failures: 4, retryInSeconds: 2 } }),
        group('waking', { state: 'Starting', sleeping: null, waitingFor: 'app is waiting for db to be healthy' }),
      ],
      problems: [],
      notes: [],
      docker: null,
    };
    const table = renderStatusTable(doc, new Chalk({ level: 0 }), new Date('2026-11-27T14:00:00Z'));
    assert.match(table, /^dozing\s+Idle \(paused\)\s/m);
    assert.match(table, /^failing\s+Idle \(backing off until 14:00:02\)\s/m);
    assert.match(table, /^waking\s+Starting \(app is waiting for db to be healthy\)\s/m);
  });
});
