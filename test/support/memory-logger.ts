import type { Logger, LogLevel } from '../../src/core/logger.js';

/** A logger that keeps lines, for asserting on what the core says. */
export class MemoryLogger implements Logger {
  constructor(
    readonly lines: string[] = [],
    private readonly scope = '',
  ) {}

  error(message: string): void { this.add('error', message); }
  warn(message: string): void { this.add('warn', message); }
  info(message: string): void { this.add('info', message); }
  debug(message: string): void { this.add('debug', message); }
  trace(message: string): void { this.add('trace', message); }
  enabled(): boolean { return true; }
  child(scope: string): Logger { return new MemoryLogger(this.lines, scope); }

  /** Lines matching `pattern`. */
  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  private add(level: LogLevel, message: string): void {
    this.lines.push(`${level} ${this.scope === '' ? '' : `[${this.scope}] `}${message}`);
  }
}
