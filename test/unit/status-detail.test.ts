import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { renderGroupDetail } from '../../src/cli/status-detail.js';
import { renderStatusTable } from '../../src/cli/status-table.js';
import { groupStatusFromSnapshot, type GroupStatus } from '../../src/control/status-document.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { Proxy } from '../../src/core/proxy.js';
import { WakeHistory } from '../../src/core/wake-history.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';

const SETTINGS: GroupSettings = { idleMs: 300_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 60_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const plain = new Chalk({ level: 0 });
const NOW = new Date('2026-11-26T16:30:00.000Z');

async function setup() {
  const runtime = new FakeRuntime();
  runtime.add('g', 'web');
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime, clock, logger, maxHeld: 10 });
  const history = new WakeHistory(proxy, { clock, logger });
  const group = proxy.group('g', SETTINGS);
  await clock.advance(0);
  const status = (): GroupStatus => groupStatusFromSnapshot(group.snapshot(), 4121, [], [], NOW, history.snapshot(group));
  return { runtime, clock, group, status };
}

describe('status explains itself', () => {
  it('while Running: who woke it and how long that took, open connections and where from, what keeps it awake, when it sleeps', async () => {
    const { clock, group, status } = await setup();
    const held = group.hold('connection from 203.0.113.7:51234 on port 443').promise;
    await clock.advance(0);
    await held;
    await clock.advance(2000);
    for (const peer of ['203.0.113.7:51234', '198.51.100.4:40000']) group.track(() => undefined, () => peer).established(() => undefined);
    group.track(() => undefined).established(() => undefined); // a connection whose peer the listener did not say
    const doc = status();
    assert.deepEqual(doc.lastWake, {
      at: '2026-11-26T16:29:58.000Z',
      reason: 'connection from 203.0.113.7:51234 on port 443',
      by: { kind: 'connection', client: { address: '203.0.113.7', port: 51234 }, port: 443 },
      result: 'ready',
      durationSeconds: 0,
      error: null,
      waitingFor: null,
    });
    assert.deepEqual(doc.awake, {
      connections: { open: 3, from: ['203.0.113.7:51234', '198.51.100.4:40000'] },
      keptAwakeBy: 'traffic within the idle period (5m); it sleeps once none moves for that long',
      sleepsAt: '2026-11-26T16:35:00.000Z',
    });
    assert.deepEqual(doc.health, { healthy: true, reason: 'running' });
    assert.equal(
      renderGroupDetail(doc, plain, NOW),
      [
        'g',
        '  Last wake:     2s ago, by connection from 203.0.113.7:51234 on port 443; ready in 0ms',
        '  Connections:   3 open from 203.0.113.7:51234, 198.51.100.4:40000, …',
        '  Kept awake by: traffic within the idle period (5m); it sleeps once none moves for that long',
        '  Sleeps:        in 5m if nothing happens',
        '  Health:        healthy: running',
        '  Members:       web (running)',
        '  Settings:      idle 5m, health on, start timeout 1m',
        '',
      ].join('\n'),
    );
  });

  it('while Idle: when and why it last slept; the table stays one line per group', async () => {
    const { clock, group, status } = await setup();
    const held = group.hold('wake requested (proxytainer wake)').promise;
    await clock.advance(0);
    await held;
    await clock.advance(300_000);
    await group.settled();
    await clock.advance(60_000);
    const doc = status();
    assert.equal(doc.state, 'Idle');
    assert.equal(doc.awake, null);
    assert.deepEqual(doc.lastSleep, { at: '2026-11-26T16:29:00.000Z', reason: 'no traffic for 5m', outcome: 'every member stopped' });
    const detail = renderGroupDetail(doc, plain, NOW);
    assert.match(detail, /\n {2}Last wake: {2}6m ago, by wake command; ready in 0ms\n/);
    assert.match(detail, /\n {2}Last sleep: 1m ago: no traffic for 5m \(every member stopped\)\n/);
    const table = renderStatusTable({ schemaVersion: 1, proxies: [], groups: [doc], problems: [], notes: [], docker: null }, plain, NOW);
    assert.equal(table.split('\n').filter((line) => line.startsWith('g ')).length, 1);
  });
});
