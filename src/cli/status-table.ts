import type { ChalkInstance } from 'chalk';
import type { GroupStatus, ListenerStatus, RoutingStatus, StatusDocument } from '../control/status-document.js';
import { formatBytes } from '../core/bytes.js';
import { formatDuration } from '../core/duration.js';
import { describeWakeRules } from '../core/wake-on.js';

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

/** The CONNECTIONS cell: TCP connections, and a UDP listener's flows and datagrams each way. */
function connections(group: GroupStatus): string {
  if (group.proxy === null) return '-';
  const tcp = `${group.connections.open} open, ${group.connections.held} held`;
  const udp = group.listeners.flatMap((l) => (l.udp === undefined ? [] : [l.udp]));
  if (udp.length === 0) return tcp;
  const sum = (pick: (u: (typeof udp)[number]) => number): number => udp.reduce((total, u) => total + pick(u), 0);
  return `${tcp}, ${sum((u) => u.flows)} flows, ${sum((u) => u.datagrams.in)}/${sum((u) => u.datagrams.out)} datagrams`;
}

/** Pads to a width measured without colour codes. */
function pad(text: string, visible: number, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visible));
}

/** The state, with what qualifies it: how an Idle group sleeps, a backoff, what a wake waits for. */
function stateCell(group: GroupStatus, now: Date): string {
  const notes: string[] = [];
  if (group.sleeping === 'paused') notes.push('paused');
  const retry = group.backoff?.retryInSeconds ?? null;
  if (retry !== null) notes.push(`backing off until ${new Date(now.getTime() + retry * 1000).toISOString().slice(11, 19)}`);
  if (group.waitingFor !== null) notes.push(group.waitingFor);
  return notes.length === 0 ? group.state : `${group.state} (${notes.join('; ')})`;
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

/** What a routed port's cell says about the names this group answers to there. */
function routeNames(listener: ListenerStatus): string {
  const routing = listener.routing;
  if (routing === undefined) return '';
  const names = routing.hostnames.length > 0 ? routing.hostnames.join(' ') : routing.fallback ? 'other names' : '';
  const parts = [names, routing.minecraft ? 'minecraft' : ''].filter((part) => part !== '');
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** Ports routed by name, once each: their groups, and what they closed without waking anything. */
function routedPortLines(doc: StatusDocument, style: ChalkInstance): string[] {
  const ports = new Map<string, { routing: RoutingStatus; names: Map<string, string> }>();
  for (const group of doc.groups) {
    for (const listener of group.listeners) {
      if (listener.routing === undefined) continue;
      const key = `${listener.bind ?? ''} ${listener.port}`;
      const port = ports.get(key) ?? { routing: listener.routing, names: new Map<string, string>() };
      port.names.set(group.name, listener.routing.hostnames.length > 0 ? listener.routing.hostnames.join(' ') : 'other names');
      ports.set(key, port);
    }
  }
  if (ports.size === 0) return [];
  const lines = ['', style.bold('Ports routed by name:')];
  for (const [key, { routing, names }] of ports) {
    const groups = routing.groups.map((name) => `${name} (${names.get(name) ?? '?'})`).join(', ');
    const c = routing.counts;
    const closed =
      c === null
        ? ''
        : `; closed without a wake: ${c.unknownName} unknown name, ${c.noName} no name, ${c.malformed} malformed, ${c.unknownProtocol} unknown protocol, ${c.silent} silent${routing.minecraft ? `; ${c.pingsAnswered} Minecraft ping(s) answered asleep` : ''}`;
    lines.push(`  port ${key.trim()}: ${groups}${closed}`);
  }
  return lines;
}

/** The wake rules of a group in one phrase, with what they turned away; null for a group any connection wakes that turned none away. */
export function wakeRulesLine(group: GroupStatus): string | null {
  const settings = group.settings;
  if (settings === null) return null;
  const rules = describeWakeRules({
    wakeOn: settings.wakeOn ?? 'connect',
    wakeMinBytes: settings.wakeMinBytes ?? 1,
    wakeFrom: settings.wakeFrom == null ? null : { text: settings.wakeFrom },
    allowFrom: settings.allowFrom == null ? null : { text: settings.allowFrom },
  });
  const away = group.turnedAway ?? { notAllowed: 0, outsideWakeFrom: 0, silent: 0 };
  const counts = [
    away.notAllowed > 0 ? `${away.notAllowed} outside allow-from` : '',
    away.outsideWakeFrom > 0 ? `${away.outsideWakeFrom} outside wake-from` : '',
    away.silent > 0 ? `${away.silent} sent too little to wake it` : '',
  ].filter((part) => part !== '');
  if (rules === '' && counts.length === 0) return null;
  return [rules === '' ? 'any connection wakes it' : rules, ...(counts.length === 0 ? [] : [`turned away ${counts.join(', ')}`])].join('; ');
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
      stateCell(group, now),
      `${group.members.running}/${group.members.total}`,
      group.listeners.length === 0 ? '-' : group.listeners.map((l) => `${l.port}${l.protocol === 'udp' ? '/udp' : ''}${routeNames(l)} → ${l.upstream}`).join(', '),
      connections(group),
      group.proxy === null ? '-' : `${formatBytes(group.bytes.in)} / ${formatBytes(group.bytes.out)}`,
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
  lines.push(...routedPortLines(doc, style));
  const rules = doc.groups.flatMap((group) => {
    const line = wakeRulesLine(group);
    return line === null ? [] : [`  ${group.name}: ${line}`];
  });
  if (rules.length > 0) lines.push('', style.bold('Wake rules:'), ...rules);
  const connecting = doc.groups.flatMap((group) =>
    group.listeners.flatMap((l) => (l.problem === undefined || l.problem === null ? [] : [`${group.name} port ${l.port}${l.protocol === 'udp' ? '/udp' : ''}: ${l.problem}`])),
  );
  if (doc.problems.length > 0 || connecting.length > 0) {
    lines.push('', style.bold('Problems:'));
    for (const problem of doc.problems) lines.push(`  ${style.red('!')} ${problem.container}: ${problem.label}: ${problem.message}`);
    for (const problem of connecting) lines.push(`  ${style.red('!')} ${problem}`);
  }
  for (const note of doc.notes) lines.push('', style.yellow(`Note: ${note}`));
  return `${lines.join('\n')}\n`;
}
