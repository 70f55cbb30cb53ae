/**
 * A failure the user can fix. The message says what is wrong and how to fix
 * it; the CLI prints it as one line and exits with `exitCode`. Anything that is
 * not a UserError is a bug and is reported with its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;

  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A bad command line: a missing, malformed or conflicting option. Exit status 2. */
export class UsageError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, exitCode: 2 });
    this.name = 'UsageError';
  }
}

/**
 * The backend (Docker) could not be reached, or said no. Not a bug in
 * proxytainer: the message says what the backend said, and where it is.
 */
export class BackendError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
  }
}

/** The short, human description of any thrown value, for log lines. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The errno-style code of a Node system error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
