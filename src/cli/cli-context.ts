import type { Clock } from '../core/clock.js';
import type { Terminal } from './terminal.js';

/** What a command needs from the process; tests and the plugin entry point supply their own. */
export interface CliContext {
  readonly terminal: Terminal;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  /** Resolves with a reason when the process is asked to stop (SIGTERM, SIGINT, the docker CLI's socket closing). */
  readonly shutdownRequested: () => Promise<string>;
  /** Set by a command to the status the process should exit with. */
  exitCode: number;
}
