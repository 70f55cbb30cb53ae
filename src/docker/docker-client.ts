import type Docker from 'dockerode';
import { UserError } from '../core/errors.js';
import { describeDockerError } from './docker-error.js';
import type { Endpoint } from './endpoint.js';

/**
 * The newest Engine API version whose changes proxytainer has been checked
 * against. It reads events by Type/Action/Actor only, so the removal of the
 * legacy status/id/from fields in 1.52 does not affect it.
 */
export const NEWEST_KNOWN_API = '1.52';

export interface DockerConnection {
  readonly docker: Docker;
  readonly endpoint: Endpoint;
  readonly apiVersion: string;
  readonly engineVersion: string;
}

function compareApi(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/**
 * The API version to speak: the engine's own or the newest known, whichever is
 * lower, but never below the engine's minimum (Engine 29 refuses anything
 * older than 1.44).
 */
export function negotiateApiVersion(engine: { ApiVersion: string; MinAPIVersion?: string | undefined }): string {
  const wanted = compareApi(engine.ApiVersion, NEWEST_KNOWN_API) < 0 ? engine.ApiVersion : NEWEST_KNOWN_API;
  const minimum = engine.MinAPIVersion;
  return minimum !== undefined && compareApi(wanted, minimum) < 0 ? minimum : wanted;
}

/** Asks the engine for its version (unversioned) and returns a client pinned to the negotiated API version. */
export async function connectDocker(endpoint: Endpoint, signal?: AbortSignal): Promise<DockerConnection> {
  // Loaded here, not at the top: dockerode takes ~150 ms to load, and help, version and the plugin metadata never need it.
  const { default: Docker } = await import('dockerode');
  const probe = new Docker(endpoint.options);
  let version: Docker.DockerVersion;
  try {
    version = await (probe.version as (options: { abortSignal?: AbortSignal }) => Promise<Docker.DockerVersion>).call(probe, signal === undefined ? {} : { abortSignal: signal });
  } catch (cause) {
    throw new UserError(`${describeDockerError(cause, endpoint.url)} [engine chosen by ${endpoint.source}]`, { cause });
  }
  const apiVersion = negotiateApiVersion(version);
  return {
    docker: new Docker({ ...endpoint.options, version: `v${apiVersion}` }),
    endpoint,
    apiVersion,
    engineVersion: version.Version,
  };
}
