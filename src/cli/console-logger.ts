import type { ChalkInstance } from 'chalk';
import { isLogLevel, LOG_LEVELS, type Logger, type LogLevel } from '../core/logger.js';
import { UsageError } from '../core/errors.js';

/** Reads PROXYTAINER_LOG; an unknown level is a usage error rather than a silent default. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const value = (env['PROXYTAINER_LOG'] ?? '').trim().toLowerCase();
  if (value === '') return 'info';
  if (!isLogLevel(value)) {
    throw new UsageError(`PROXYTAINER_LOG=${value} is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export interface ConsoleLoggerOptions {
  readonly level: LogLevel;
  readonly write: (line: string) => void;
  readonly style: ChalkInstance;
  readonly now?: () => Date;
}

/** Log lines on stderr: `2026-11-26T16:20:54.123Z INFO  [mygroup] State change (Idle => Starting): …`. */
export function createConsoleLogger(options: ConsoleLoggerOptions, scope?: string): Logger {
  const { style } = options;
  const paint: Readonly<Record<LogLevel, (text: string) => string>> = {
    error: style.red.bold,
    warn: style.yellow,
    info: style.green,
    debug: style.blue,
    trace: style.gray,
  };
  const now = options.now ?? (() => new Date());
  const threshold = RANK[options.level];
  const log = (level: LogLevel, message: string): void => {
    if (RANK[level] > threshold) return;
    const prefix = scope === undefined ? '' : `${style.bold(`[${scope}]`)} `;
    options.write(`${style.dim(now().toISOString())} ${paint[level](level.toUpperCase().padEnd(5))} ${prefix}${message}\n`);
  };
  return {
    error: (message) => { log('error', message); },
    warn: (message) => { log('warn', message); },
    info: (message) => { log('info', message); },
    debug: (message) => { log('debug', message); },
    trace: (message) => { log('trace', message); },
    enabled: (level) => RANK[level] <= threshold,
    child: (name) => createConsoleLogger(options, scope === undefined ? name : `${scope}/${name}`),
  };
}
