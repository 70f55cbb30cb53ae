import { type Logger, silentLogger } from '../core/logger.js';
import type { CliContext } from './cli-context.js';
import { createConsoleLogger, logLevelFromEnv } from './console-logger.js';

/** Commands other than run log nothing unless PROXYTAINER_LOG asks, so their own output stays readable. */
export function clientLogger(context: CliContext): Logger {
  if ((context.env['PROXYTAINER_LOG'] ?? '') === '') return silentLogger;
  return createConsoleLogger({ level: logLevelFromEnv(context.env), write: context.terminal.err, style: context.terminal.errStyle });
}
