import type { ChalkInstance } from 'chalk';
import { type Command, Option } from 'commander';
import { statusFromBackend } from '../../control/backend-status.js';
import type { GroupStatus, StatusDocument } from '../../control/status-document.js';
import { describeError, UsageError, UserError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { BackendConnection, CliContext } from '../cli-context.js';
import { describeShared, runningProxies, sharedGroups } from '../proxies.js';
import { renderStatusTable } from '../status-table.js';
import { renderGroupDetail } from '../status-detail.js';
import { watchStatus } from '../status-watch.js';
import { groupNameOption } from '../option-parsers.js';
import { controlSocketOption } from './control-socket-option.js';

interface StatusOptions {
  readonly format: 'table' | 'json';
  readonly controlSocket?: string;
  readonly watch?: boolean;
}

const WATCH_INTERVAL_MS = 1000;

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .summary('show each group: state, members, listeners, connections, traffic')
    .description(
      'Show every group (or one): its state, members running/total, listeners, open and held connections, bytes each way, last activity, time until it sleeps, and label problems. Asks every running proxy; with none running, answers from Docker alone.\n' +
        'With a group named, the table is followed by what it has no room for: who woke the group and how long that took, what keeps it awake, when and why it last slept, its health.',
    )
    .argument('[group]', 'show only this group, in detail', groupNameOption)
    .addOption(new Option('--format <format>', 'table, or json (a stable document; see the README)').choices(['table', 'json']).default('table'))
    .option('-w, --watch', 'keep showing it: the table redrawn every second on a terminal, or one document per change (with --format json, one JSON document a line); Ctrl-C stops')
    .addOption(controlSocketOption())
    .action(async (group: string | undefined, options: StatusOptions) => {
      context.exitCode = await status(group, options, context);
    });
}

function mergeGroups(fromProxies: readonly GroupStatus[], fromDocker: readonly GroupStatus[]): GroupStatus[] {
  const managed = new Set(fromProxies.map((g) => g.name));
  return [...fromProxies, ...fromDocker.filter((g) => !managed.has(g.name))].sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads the status document: every proxy's groups, and Docker's for the rest. Docker is connected to once, at the first read. */
function statusReader(only: string | undefined, options: StatusOptions, context: CliContext): () => Promise<StatusDocument> {
  let connection: ReturnType<CliContext['connect']> | null = null;
  const connect = async (): Promise<BackendConnection> => {
    connection ??= context.connect({ logger: silentLogger });
    try {
      return await connection;
    } catch (error) {
      connection = null; // asked again at the next read (status --watch)
      throw error;
    }
  };
  return async () => {
    const { proxies, notes } = await runningProxies(options.controlSocket, context.env);
    for (const [group, pids] of sharedGroups(proxies)) notes.push(describeShared(group, pids));
    const fromProxies = proxies.flatMap((p) => p.status.groups);
    let fromDocker: GroupStatus[] = [];
    let problems = proxies.flatMap((p) => p.status.problems);
    let docker: StatusDocument['docker'] = null;
    try {
      const { backend, endpoint, chosenBy } = await connect();
      docker = { endpoint, chosenBy };
      const fromEngine = await statusFromBackend(backend, new AbortController().signal);
      fromDocker = fromEngine.groups;
      const seen = new Set(problems.map((p) => `${p.container} ${p.label} ${p.message}`));
      problems = [...problems, ...fromEngine.problems.filter((p) => !seen.has(`${p.container} ${p.label} ${p.message}`))];
    } catch (error) {
      // Only what the user can fix is theirs; anything else is a bug and keeps its stack.
      // An engine asked for by name must answer; the default one may be missing when proxies answered.
      const explicit = context.endpointFlags?.host !== undefined || context.endpointFlags?.context !== undefined;
      if (!(error instanceof UserError) || proxies.length === 0 || explicit || error instanceof UsageError) throw error;
      notes.push(`groups no proxy manages are not shown: ${describeError(error)}`);
    }
    let groups = mergeGroups(fromProxies, fromDocker);
    if (only !== undefined) {
      groups = groups.filter((g) => g.name === only);
      problems = problems.filter((p) => p.group === only);
      if (groups.length === 0) throw new UserError(`no group named ${only}: no container is labelled proxytainer.group=${only} and no proxy manages it`);
    }
    return { schemaVersion: 1, proxies: proxies.flatMap((p) => p.status.proxies), groups, problems, notes, docker };
  };
}

/** The table, and with one group asked for, its detail below. */
function renderTable(doc: StatusDocument, only: string | undefined, style: ChalkInstance): string {
  const table = renderStatusTable(doc, style);
  if (only === undefined) return table;
  return [table, ...doc.groups.map((group) => renderGroupDetail(group, style))].join('\n');
}

async function status(only: string | undefined, options: StatusOptions, context: CliContext): Promise<number> {
  const read = statusReader(only, options, context);
  const { terminal } = context;
  if (options.watch === true) {
    await watchStatus(read, {
      json: options.format === 'json',
      terminal,
      intervalMs: WATCH_INTERVAL_MS,
      stop: context.shutdownRequested(),
      render: (doc) => renderTable(doc, only, terminal.outStyle),
    });
    return 0;
  }
  const doc = await read();
  terminal.out(options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderTable(doc, only, terminal.outStyle));
  return 0;
}
