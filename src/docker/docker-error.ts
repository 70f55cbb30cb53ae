import { describeError, errorCode } from '../core/errors.js';

interface DockerodeError {
  readonly statusCode?: number;
  readonly reason?: string;
  readonly json?: { readonly message?: string } | Buffer | null;
}

/** The HTTP status of a Docker API error, if the engine answered at all. */
export function dockerStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as DockerodeError).statusCode;
  return typeof status === 'number' ? status : undefined;
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/** True when the engine could not be reached at all (as opposed to answering with an error). */
export function isUnreachable(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && UNREACHABLE.has(code);
}

/** One line a user can act on, for an error from a Docker API call. */
export function describeDockerError(error: unknown, endpoint: string): string {
  const status = dockerStatus(error);
  if (status !== undefined) {
    const json = (error as DockerodeError).json;
    const message = json !== null && json !== undefined && !Buffer.isBuffer(json) && typeof json.message === 'string' ? json.message : (error as DockerodeError).reason;
    return `Docker refused (HTTP ${status}): ${message ?? 'no message'}`;
  }
  switch (errorCode(error)) {
    case 'ENOENT':
      return `cannot reach Docker at ${endpoint}: the socket does not exist (is dockerd running? choose another engine with DOCKER_HOST or --context)`;
    case 'EACCES':
      return `cannot reach Docker at ${endpoint}: permission denied (run as root or add the user to the docker group)`;
    case 'ECONNREFUSED':
      return `cannot reach Docker at ${endpoint}: connection refused (is dockerd running?)`;
    default:
      return isUnreachable(error) ? `cannot reach Docker at ${endpoint}: ${describeError(error)}` : describeError(error);
  }
}
