import { CommanderError } from 'commander';
import { UsageError, UserError } from '../core/errors.js';
import type { CliContext } from './cli-context.js';
import type { Terminal } from './terminal.js';
import { buildProgram } from './program.js';

const QUIET_COMMANDER_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Resolves on the first SIGINT/SIGTERM; a second one ends the process at once. */
export function shutdownOnSignals(): Promise<string> {
  return new Promise((resolve) => {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      received++;
      if (received === 1) resolve(`received ${signal}`);
      else process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The one place errors become exit codes: usage 2, what the user can fix 1 (one line each), bugs 1 with the stack. */
export function reportError(error: unknown, terminal: Terminal, commandName: string): number {
  if (error instanceof CommanderError) return QUIET_COMMANDER_CODES.has(error.code) ? 0 : 2;
  if (error instanceof UserError) {
    terminal.err(`${terminal.errStyle.red('error:')} ${error.message}\n`);
    if (error instanceof UsageError) terminal.err(`Run '${commandName} --help' for usage.\n`);
    return error.exitCode;
  }
  terminal.err(`${commandName}: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

/** Runs the CLI and returns the exit status. */
export async function main(argv: readonly string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    return reportError(error, context.terminal, context.commandName);
  }
}
