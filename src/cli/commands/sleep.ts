import type { Command } from 'commander';
import type { SleepResult } from '../../control/control-api.js';
import { requestSleep } from '../../control/control-client.js';
import { sleepWithBackend } from '../../control/standalone-group.js';
import type { CliContext } from '../cli-context.js';
import { clientLogger } from '../client-logger.js';
import { findManagingProxy } from '../proxies.js';
import { warner } from '../warn.js';
import { groupNameOption } from '../option-parsers.js';
import { controlSocketOption } from './control-socket-option.js';

export function registerSleep(program: Command, context: CliContext): void {
  program
    .command('sleep')
    .summary('put a group to sleep now')
    .description('Stop a group now, through the running proxy that manages it (held connections are closed and open ones cut, as in an idle stop), or straight through Docker when none does.')
    .argument('<group>', 'the group to put to sleep', groupNameOption)
    .addOption(controlSocketOption())
    .action(async (group: string, options: { controlSocket?: string }) => {
      context.exitCode = await sleep(group, options, context);
    });
}

async function sleep(group: string, options: { controlSocket?: string }, context: CliContext): Promise<number> {
  const proxy = await findManagingProxy(group, options.controlSocket, context.env, warner(context));
  return context.terminal.withProgress(`Stopping ${group}`, async (progress) => {
    let result: SleepResult;
    if (proxy !== undefined) {
      result = await requestSleep(proxy.socket, group);
    } else {
      const logger = clientLogger(context);
      const { backend } = await context.connect({ logger, group });
      result = await sleepWithBackend(backend, group, { clock: context.clock, logger });
    }
    if (!result.ok) {
      progress.fail(`${group} did not stop: ${result.reason}`);
      return 1;
    }
    progress.succeed(`${group} is asleep`);
    return 0;
  });
}
