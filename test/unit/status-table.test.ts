import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { renderStatusTable } from '../../src/cli/status-table.js';
import type { StatusDocument } from '../../src/control/status-document.js';
import { groupStatus } from '../support/status-fixtures.js';

describe('the status table', () => {
  it('says how an Idle group sleeps, when a backoff ends, and what a wake waits for, in the state column', () => {
    const doc: StatusDocument = {
      schemaVersion: 1,
      proxies: [],
      groups: [
        groupStatus('dozing', { sleeping: 'paused' }),
        groupStatus('failing', { backoff: { failures: 4, retryInSeconds: 2 } }),
        groupStatus('waking', { state: 'Starting', sleeping: null, waitingFor: 'app is waiting for db to be healthy' }),
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

  it('lists what stops a listener from reaching its upstream under Problems', () => {
    const problem = 'upstream host nosuch.invalid does not resolve (ENOTFOUND): fix the host in --host or proxytainer.upstream';
    const doc: StatusDocument = {
      schemaVersion: 1,
      proxies: [],
      groups: [
        groupStatus('web', { listeners: [{ port: 8080, protocol: 'tcp', bind: null, upstream: 'nosuch.invalid:80', problem }] }),
        groupStatus('fine', { listeners: [{ port: 8081, protocol: 'tcp', bind: null, upstream: '127.0.0.1:80', problem: null }] }),
      ],
      problems: [],
      notes: [],
      docker: null,
    };
    const table = renderStatusTable(doc, new Chalk({ level: 0 }), new Date('2026-11-27T14:00:00Z'));
    assert.match(table, /\nProblems:\n {2}! web port 8080: upstream host nosuch\.invalid does not resolve \(ENOTFOUND\): fix the host/);
    assert.equal(table.match(/^ {2}! /gm)?.length, 1, table);
  });

  it('shows the names each group answers to on a shared port, and what the port closed without a wake', () => {
    const counts = { unknownName: 3, noName: 1, malformed: 0, unknownProtocol: 2, silent: 7, pingsAnswered: 0 };
    const groups = ['cloud', 'photos', 'web'];
    const listener = (names: string[], upstream: string) => ({
      port: 443,
      protocol: 'tcp' as const,
      bind: null,
      upstream,
      routing: { hostnames: names, fallback: names.length === 0, groups, minecraft: false, counts },
    });
    const doc: StatusDocument = {
      schemaVersion: 1,
      proxies: [],
      groups: [
        groupStatus('cloud', { listeners: [listener(['cloud.example.com'], 'cloud:443')] }),
        groupStatus('photos', { listeners: [listener(['photos.example.com', '*.photos.example.com'], 'photos:443')] }),
        groupStatus('web', { listeners: [listener([], 'web:443')] }),
      ],
      problems: [],
      notes: [],
      docker: null,
    };
    const table = renderStatusTable(doc, new Chalk({ level: 0 }), new Date('2026-11-27T14:00:00Z'));
    assert.match(table, /^photos\s+\S+\s+\S+\s+443 \(photos\.example\.com \*\.photos\.example\.com\) → photos:443\s/m);
    assert.match(table, /^web\s+\S+\s+\S+\s+443 \(other names\) → web:443\s/m);
    assert.match(
      table,
      /^ {2}port 443: cloud \(cloud\.example\.com\), photos \(photos\.example\.com \*\.photos\.example\.com\), web \(other names\); closed without a wake: 3 unknown name, 1 no name, 0 malformed, 2 unknown protocol, 7 silent$/m,
    );
  });
});
