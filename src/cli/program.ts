import { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import { registerRun } from './commands/run.js';
import { registerSleep } from './commands/sleep.js';
import { registerStatus } from './commands/status.js';
import { registerWake } from './commands/wake.js';
import { packageInfo } from './package-info.js';

/** The command tree; every command is a thin handler in ./commands over the core. */
export function buildProgram(context: CliContext, name = 'proxytainer'): Command {
  const program = new Command(name)
    .description('A transparent TCP proxy that wakes Docker containers on demand and stops them when idle.')
    .version(packageInfo.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .exitOverride()
    .configureOutput({
      writeOut: context.terminal.out,
      writeErr: context.terminal.err,
      outputError: (text, write) => {
        write(text);
      },
    });
  registerRun(program, context);
  registerStatus(program, context);
  registerWake(program, context);
  registerSleep(program, context);
  for (const command of [program, ...program.commands]) {
    const path = command === program ? name : `${name} ${command.name()}`;
    command.showHelpAfterError(`Run '${path} --help' for usage.`);
  }
  return program;
}
