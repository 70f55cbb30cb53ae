import type { CliContext } from './cli-context.js';

/** Writes warnings as the docker CLI does: `WARNING: …` on stderr, one line each. */
export function warner(context: CliContext): (text: string) => void {
  return (text) => {
    context.terminal.err(`${context.terminal.errStyle.yellow('WARNING:')} ${text}\n`);
  };
}
