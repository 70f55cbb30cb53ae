import { type Command, Option } from 'commander';
import type { WakeProgress, WakeResult } from '../../control/control-api.js';
import { requestWake } from '../../control/control-client.js';
import { startWithBackend, wakeWithBackend } from '../../control/standalone-group.js';
import { formatDuration } from '../../core/duration.js';
import type { CliContext } from '../cli-context.js';
import { clientLogger } from '../client-logger.js';
import { groupNameOption, positiveDurationOption } from '../option-parsers.js';
import { findManagingProxy } from '../proxies.js';
import { warner } from '../warn.js';
import { controlSocketOption } from './control-socket-option.js';

interface WakeOptions {
  readonly wait: boolean;
  readonly timeout: number;
  readonly controlSocket?: string;
}

export function registerWake(program: Command, context: CliContext): void {
  program
    .command('wake')
    .summary('wake a group now and wait until it is ready')
    .description('Wake a group: through the running proxy that manages it (so its idle clock starts), or straight through Docker when none does. Waits until every member is running and healthy, showing the phase.')
    .argument('<group>', 'the group to wake', groupNameOption)
    .option('--no-wait', 'return once the wake has started')
    .addOption(new Option('--timeout <duration>', 'give up waiting after this long').argParser(positiveDurationOption).default(60_000, '60s'))
    .addOption(controlSocketOption())
    .action(async (group: string, options: WakeOptions) => {
      context.exitCode = await wake(group, options, context);
    });
}

function phase(group: string, progress: WakeProgress): string {
  switch (progress.state) {
    case 'Starting':
      return progress.detail.includes('not healthy yet') || progress.detail.includes('restarting')
        ? `Waiting for ${group}: ${progress.detail}`
        : `Starting ${group}`;
    case 'Stopping':
      return `Waiting for ${group} to finish stopping, then starting it`;
    case 'Idle':
    case 'Running':
      return `Waking ${group}`;
  }
}

async function wake(group: string, options: WakeOptions, context: CliContext): Promise<number> {
  const started = context.clock.now();
  const proxy = await findManagingProxy(group, options.controlSocket, context.env, warner(context));
  return context.terminal.withProgress(`Waking ${group}`, async (progress) => {
    const onProgress = (step: WakeProgress): void => {
      progress.update(phase(group, step));
    };
    let result: WakeResult;
    let through: string;
    if (proxy !== undefined) {
      through = `proxy ${proxy.status.proxies[0]?.pid ?? '?'}`;
      const timeout = AbortSignal.timeout(options.timeout);
      try {
        result = await requestWake(proxy.socket, group, { wait: options.wait, signal: timeout }, onProgress);
      } catch (error) {
        if (!timeout.aborted) throw error;
        result = { ok: false, reason: `not ready after ${formatDuration(options.timeout)} (the proxy keeps trying until its own start timeout)` };
      }
    } else {
      through = 'Docker; no proxy manages it';
      const logger = clientLogger(context);
      const { backend } = await context.connect({ logger, group });
      result = options.wait
        ? await wakeWithBackend(backend, group, { startTimeoutMs: options.timeout, clock: context.clock, logger }, onProgress)
        : await startWithBackend(backend, group);
    }
    const took = formatDuration(context.clock.now() - started);
    if (!result.ok) {
      progress.fail(`${group} is not ready: ${result.reason}`);
      return 1;
    }
    progress.succeed(options.wait ? `${group} is ready in ${took}, through ${through}` : `${group} is waking, through ${through}`);
    return 0;
  });
}
