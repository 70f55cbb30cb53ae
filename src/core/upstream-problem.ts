import { formatHostPort } from './address.js';
import { describeError, errorCode } from './errors.js';
import type { Logger } from './logger.js';
import { UpstreamUnreachableError } from './upstream.js';

/** Why connections to an upstream fail, in a form that says what to fix. */
export interface UpstreamProblem {
  /** Stable across connections that fail for the same reason (no times or attempt counts): what the once-only warning is keyed on. */
  readonly key: string;
  /** The line logged and shown in `status`. */
  readonly message: string;
}

/** Name lookups that found nothing, or could not be answered. */
const UNRESOLVED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA']);

/** A connect that failed (after its retries), or an upstream that could not be found, as a problem to report. */
export function upstreamProblem(error: unknown, upstream: string): UpstreamProblem {
  if (!(error instanceof UpstreamUnreachableError)) {
    // Finding the address failed (the member has no address on its networks, the engine did not answer), or the upstream is the listener.
    return { key: `find ${describeError(error)}`, message: `cannot forward to ${upstream}: ${describeError(error)}` };
  }
  const { target, cause } = error;
  const code = errorCode(cause);
  const where = formatHostPort(target);
  if (code !== undefined && UNRESOLVED.has(code)) {
    return {
      key: `${code} ${target.host}`,
      message: `upstream host ${target.host} does not resolve (${code}): fix the host in --host or proxytainer.upstream, or put the member on a network where that name is known`,
    };
  }
  // One key for every other failure to reach this address: a refusal and a timeout of a connect the deadline cut
  // short are the same news (it does not accept), and must not make two warnings.
  if (code === 'ECONNREFUSED') {
    return {
      key: `unreachable ${where}`,
      message: `upstream ${where} refused every connection until the start timeout (nothing listens there): check the port in --host or proxytainer.upstream, or raise --start-timeout if the server takes longer to listen`,
    };
  }
  return { key: `unreachable ${where}`, message: `${error.message}: check --host or proxytainer.upstream, and that the member listens there` };
}

/**
 * The configuration problem connections to one upstream currently run into:
 * logged at warn once per distinct cause, not once per connection (a flood
 * against a wrong port would otherwise log a line per client), and shown in
 * `status` until a connection gets through or the upstream changes.
 */
export class UpstreamProblemReport {
  private problem: UpstreamProblem | null = null;

  constructor(private readonly logger: Logger) {}

  /** The message of the current problem; null when the last connection got through, or none failed. */
  get current(): string | null {
    return this.problem?.message ?? null;
  }

  report(problem: UpstreamProblem): void {
    if (this.problem?.key === problem.key) {
      if (this.logger.enabled('debug')) this.logger.debug(`again: ${problem.message}`);
      return;
    }
    this.problem = problem;
    this.logger.warn(problem.message);
  }

  /** A connection got through, or the upstream changed: the next failure is news again. */
  clear(): void {
    this.problem = null;
  }
}
