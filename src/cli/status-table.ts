import type { ChalkInstance } from 'chalk';
import type { GroupStatus, StatusDocument } from '../control/status-document.js';
import { formatDuration } from '../core/duration.js';

function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
}

function ago(iso: string | null, now: Date): string {
  if (iso === null) return '-';
  return `${formatDuration(Math.max(0, now.getTime() - Date.parse(iso)))} ago`;
}

function stateColour(style: ChalkInstance, state: GroupStatus['state']): (text: string) => string {
  switch (state) {
    case 'Running':
      return style.green;
    case 'Starting':
    case 'Stopping':
      return style.yellow;
    case 'Idle':
      return style.dim;
  }
}

/** Pads to a width measured without colour codes. */
function pad(text: string, visible: number, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visible));
}

/** Swarm services among the members, one line each: replicas running/desired and the nodes their tasks are on; none when there are no services. */
function serviceLines(doc: StatusDocument, style: ChalkInstance): string[] {
  const headers = ['SERVICE', 'GROUP', 'REPLICAS', 'NODES'];
  const rows = doc.groups.flatMap((group) =>
    group.members.list
      .filter((member) => member.kind === 'service')
      .map((member) => [member.name, group.name, member.replicas === undefined ? '-' : `${member.replicas.running}/${member.replicas.desired}`, member.nodes?.join(', ') || '-']),
  );
  if (rows.length === 0) return [];
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd();
  return ['', style.bold(line(headers)), ...rows.map(line)];
}

/** The `status` table: docker-style upper-case headers, columns three spaces apart, problems listed below. */
export function renderStatusTable(doc: StatusDocument, style: ChalkInstance, now = new Date()): string {
  const lines: string[] = [];
  const engine = doc.docker === null ? 'Docker' : `Docker at ${doc.docker.endpoint}`;
  if (doc.proxies.length === 0) {
    lines.push(style.yellow(`No proxy is running; this is what ${engine} says.`));
  } else {
    for (const proxy of doc.proxies) {
      lines.push(`Proxy ${proxy.pid}: ${proxy.mode} mode, proxytainer ${proxy.version}, Docker ${proxy.docker}, control ${proxy.controlSocket}`);
    }
  }
  lines.push('');
  const headers = ['GROUP', 'STATE', 'MEMBERS', 'LISTENERS', 'CONNECTIONS', 'BYTES IN/OUT', 'LAST ACTIVITY', 'SLEEPS IN'];
  const rows = doc.groups.map((group) => {
    const cells = [
      group.name,
      group.state,
      `${group.members.running}/${group.members.total}`,
      group.listeners.length === 0 ? '-' : group.listeners.map((l) => `${l.port} → ${l.upstream}`).join(', '),
      group.proxy === null ? '-' : `${group.connections.open} open, ${group.connections.held} held`,
      group.proxy === null ? '-' : `${bytes(group.bytes.in)} / ${bytes(group.bytes.out)}`,
      ago(group.lastActivity, now),
      group.sleepsInSeconds === null ? '-' : formatDuration(group.sleepsInSeconds * 1000),
    ];
    return { cells, state: group.state };
  });
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row.cells[i] ?? '').length)));
  const join = (cells: readonly string[], paint: (i: number, text: string) => string): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? paint(i, cell) : pad(paint(i, cell), cell.length, (widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  lines.push(join(headers, (_, text) => style.bold(text)));
  for (const row of rows) lines.push(join(row.cells, (i, text) => (i === 1 ? stateColour(style, row.state)(text) : text)));
  if (doc.groups.length === 0) lines.push(style.dim('(no containers labelled proxytainer.group)'));
  lines.push(...serviceLines(doc, style));
  if (doc.problems.length > 0) {
    lines.push('', style.bold('Problems:'));
    for (const problem of doc.problems) lines.push(`  ${style.red('!')} ${problem.container}: ${problem.label}: ${problem.message}`);
  }
  for (const note of doc.notes) lines.push('', style.yellow(`Note: ${note}`));
  return `${lines.join('\n')}\n`;
}
