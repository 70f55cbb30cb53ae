import { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { CliContext } from './cli-context.js';
import { registerPlugin } from './commands/plugin.js';
import { registerRun } from './commands/run.js';
import { registerSleep } from './commands/sleep.js';
import { registerStatus } from './commands/status.js';
import { registerVersion } from './commands/version.js';
import { registerWake } from './commands/wake.js';
import { dockerStyleHelp } from './help-format.js';
import { packageInfo } from './package-info.js';

interface GlobalOptions {
  readonly dockerHost?: string;
  readonly context?: string;
}

/** The command tree; every command is a thin handler in ./commands over the core. */
export function buildProgram(context: CliContext): Command {
  const name = context.commandName;
  const program = new Command(name)
    .description('A transparent TCP proxy that wakes Docker containers on demand and stops them when idle.')
    .version(packageInfo.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .option('-H, --docker-host <url>', 'the Docker engine to use (like docker -H; default: as the docker CLI chooses)')
    .option('-c, --context <name>', 'the docker context to use (like docker --context)')
    .exitOverride()
    .configureHelp({ formatHelp: dockerStyleHelp })
    .configureOutput({
      writeOut: context.terminal.out,
      writeErr: context.terminal.err,
      outputError: (text, write) => {
        write(text);
      },
    })
    .hook('preAction', (_program, action) => {
      const options = action.optsWithGlobals<GlobalOptions>();
      if ((options.dockerHost ?? context.dockerFlags.host) !== undefined && (options.context ?? context.dockerFlags.context) !== undefined) {
        throw new UsageError('conflicting options: cannot specify both --host and --context');
      }
      context.endpointFlags = {
        ...context.dockerFlags,
        ...(options.dockerHost === undefined ? {} : { host: options.dockerHost }),
        ...(options.context === undefined ? {} : { context: options.context }),
      };
    });
  registerRun(program, context);
  registerStatus(program, context);
  registerWake(program, context);
  registerSleep(program, context);
  registerPlugin(program, context);
  registerVersion(program, context);
  const withHints = (command: Command, path: string): void => {
    command.showHelpAfterError(`Run '${path} --help' for usage.`);
    for (const sub of command.commands) withHints(sub, `${path} ${sub.name()}`);
  };
  withHints(program, name);
  return program;
}
