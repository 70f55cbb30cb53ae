import type { ChalkInstance } from 'chalk';
import type { GroupStatus, WakeStatus } from '../control/status-document.js';
import { formatDuration } from '../core/duration.js';
import { wakeRulesLine } from './status-table.js';

function ago(iso: string, now: Date): string {
  return `${formatDuration(Math.max(0, now.getTime() - Date.parse(iso)))} ago`;
}

function wakeLine(wake: WakeStatus, now: Date): string {
  const took = wake.durationSeconds === null ? '' : ` in ${formatDuration(wake.durationSeconds * 1000)}`;
  const outcome = ((): string => {
    switch (wake.result) {
      case 'starting':
        return `starting${wake.waitingFor === null ? '' : `, waiting for ${wake.waitingFor}`}`;
      case 'ready':
        return `ready${took}`;
      case 'failed':
        return `failed${took}: ${wake.error ?? ''}`;
      case 'cancelled':
        return `cancelled${took}: ${wake.error ?? ''}`;
    }
  })();
  return `${ago(wake.at, now)}, by ${wake.reason}; ${outcome}`;
}

/**
 * `status GROUP`: the table's line, then what the table has no room for —
 * who woke the group and how long it took, what keeps it awake and when it
 * sleeps, when and why it last slept, its health, members and settings.
 */
export function renderGroupDetail(group: GroupStatus, style: ChalkInstance, now = new Date()): string {
  const rows: [string, string][] = [];
  if (group.proxy === null) {
    rows.push(['Managed', 'by no running proxy; read from Docker alone']);
  } else {
    const wake = group.lastWake ?? null;
    rows.push(['Last wake', wake === null ? 'none since the proxy started' : wakeLine(wake, now)]);
    const awake = group.awake ?? null;
    if (awake !== null) {
      const { open, from } = awake.connections;
      const where = from.length === 0 ? '' : ` from ${from.join(', ')}${open > from.length ? ', …' : ''}`;
      rows.push(['Connections', `${open} open${where}`]);
      rows.push(['Kept awake by', awake.keptAwakeBy]);
      if (awake.sleepsAt !== null) rows.push(['Sleeps', `in ${formatDuration(Math.max(0, Date.parse(awake.sleepsAt) - now.getTime()))} if nothing happens`]);
    }
    const sleep = group.lastSleep ?? null;
    if (group.state !== 'Running' || sleep !== null) {
      rows.push(['Last sleep', sleep === null ? 'none since the proxy started' : `${ago(sleep.at, now)}: ${sleep.reason}${sleep.outcome === null ? '' : ` (${sleep.outcome})`}`]);
    }
    const health = group.health ?? null;
    if (health !== null) rows.push(['Health', health.healthy ? `healthy: ${health.reason}` : style.red(`unhealthy: ${health.reason}`)]);
  }
  const members = group.members.list.map((m) => `${m.name} (${m.state}${m.health === 'none' ? '' : `, ${m.health}`})`);
  rows.push(['Members', members.length === 0 ? 'none' : members.join(', ')]);
  if (group.settings !== null) {
    const { idleSeconds, health, startTimeoutSeconds } = group.settings;
    rows.push(['Settings', `idle ${formatDuration(idleSeconds * 1000)}, health ${health ? 'on' : 'off'}, start timeout ${formatDuration(startTimeoutSeconds * 1000)}`]);
    const rules = wakeRulesLine(group);
    if (rules !== null) rows.push(['Wake rules', rules]);
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return `${style.bold(group.name)}\n${rows.map(([label, text]) => `  ${`${label}:`.padEnd(width)}${text}`).join('\n')}\n`;
}
