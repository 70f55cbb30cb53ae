import type Docker from 'dockerode';
import { BackendError } from '../core/errors.js';
import { describeDockerError, dockerStatus } from './docker-error.js';
import { unscalableReason } from './service-member.js';
import type { SwarmService, SwarmServiceSpec } from './swarm-types.js';

/** Tries of an update that lost a race with another update of the same service. */
const UPDATE_TRIES = 5;

/** An update that lost a race with another one (Swarm checks the version it was based on). */
function outOfSequence(error: unknown): boolean {
  return dockerStatus(error) !== undefined && /out of sequence/i.test(describeDockerError(error, ''));
}

/**
 * Changes a service's spec: `change` gets the spec as it is now and returns
 * the new one, or null to leave it. An update that races another one is
 * retried on a fresh reading. Resolves with the service as read before the
 * update, or null when it no longer exists; a service that cannot be scaled
 * is refused with the reason.
 */
export async function updateService(docker: Docker, id: string, signal: AbortSignal, change: (spec: SwarmServiceSpec) => SwarmServiceSpec | null): Promise<SwarmService | null> {
  for (let attempt = 1; ; attempt++) {
    let service: SwarmService;
    try {
      service = (await docker.getService(id).inspect({ abortSignal: signal })) as SwarmService;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
      throw error;
    }
    const why = unscalableReason(service.Spec);
    if (why !== null) throw new BackendError(why);
    const spec = change(service.Spec);
    if (spec === null) return service;
    try {
      // The version in the query, the spec as the body: dockerode would put every spec field into the query as well.
      await docker.getService(id).update({ _query: { version: service.Version.Index }, _body: spec, abortSignal: signal });
      return service;
    } catch (error) {
      if (!outOfSequence(error) || attempt >= UPDATE_TRIES) throw error;
    }
  }
}
