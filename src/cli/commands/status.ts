import { type Command, Option } from 'commander';
import { statusFromBackend } from '../../control/backend-status.js';
import type { GroupStatus, StatusDocument } from '../../control/status-document.js';
import { describeError, UsageError, UserError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { CliContext } from '../cli-context.js';
import { describeShared, runningProxies, sharedGroups } from '../proxies.js';
import { renderStatusTable } from '../status-table.js';
import { groupNameOption } from '../option-parsers.js';
import { controlSocketOption } from './control-socket-option.js';

interface StatusOptions {
  readonly format: 'table' | 'json';
  readonly controlSocket?: string;
}

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .summary('show each group: state, members, listeners, connections, traffic')
    .description('Show every group (or one): its state, members running/total, listeners, open and held connections, bytes each way, last activity, time until it sleeps, and label problems. Asks every running proxy; with none running, answers from Docker alone.')
    .argument('[group]', 'show only this group', groupNameOption)
    .addOption(new Option('--format <format>', 'table, or json (a stable document; see the README)').choices(['table', 'json']).default('table'))
    .addOption(controlSocketOption())
    .action(async (group: string | undefined, options: StatusOptions) => {
      context.exitCode = await status(group, options, context);
    });
}

function mergeGroups(fromProxies: readonly GroupStatus[], fromDocker: readonly GroupStatus[]): GroupStatus[] {
  const managed = new Set(fromProxies.map((g) => g.name));
  return [...fromProxies, ...fromDocker.filter((g) => !managed.has(g.name))].sort((a, b) => a.name.localeCompare(b.name));
}

async function status(only: string | undefined, options: StatusOptions, context: CliContext): Promise<number> {
  const { proxies, notes } = await runningProxies(options.controlSocket, context.env);
  for (const [group, pids] of sharedGroups(proxies)) notes.push(describeShared(group, pids));
  const fromProxies = proxies.flatMap((p) => p.status.groups);
  let fromDocker: GroupStatus[] = [];
  let problems = proxies.flatMap((p) => p.status.problems);
  let docker: StatusDocument['docker'] = null;
  try {
    const { backend, endpoint, chosenBy } = await context.connect({ logger: silentLogger });
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
  const doc: StatusDocument = { schemaVersion: 1, proxies: proxies.flatMap((p) => p.status.proxies), groups, problems, notes, docker };
  context.terminal.out(options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderStatusTable(doc, context.terminal.outStyle));
  return 0;
}
