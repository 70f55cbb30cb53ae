import type { Logger } from '../core/logger.js';
import { CompositeBackend } from '../docker/composite-backend.js';
import { DockerBackend } from '../docker/docker-backend.js';
import { connectDocker } from '../docker/docker-client.js';
import { type Endpoint, resolveEndpoint } from '../docker/endpoint.js';
import { SwarmServices } from '../docker/swarm-services.js';
import type { BackendConnection, CliContext } from './cli-context.js';

/** The engine the docker CLI would use, given this command's flags and environment. */
export function endpointFor(context: CliContext): Endpoint {
  return resolveEndpoint(context.endpointFlags ?? context.dockerFlags, context.env);
}

/**
 * Docker as the backend behind every port, built here and nowhere else: the
 * engine the docker CLI would use, following every labelled container and
 * Swarm service (where the engine is a swarm manager), or only `group`'s. A
 * UserError naming the endpoint when it does not answer.
 */
export async function connectDockerBackend(context: CliContext, options: { readonly logger: Logger; readonly group?: string | undefined }): Promise<BackendConnection> {
  const connection = await connectDocker(endpointFor(context));
  const { endpoint } = connection;
  const parts = { docker: connection.docker, endpoint: endpoint.url, clock: context.clock, logger: options.logger, group: options.group };
  return {
    backend: new CompositeBackend(new DockerBackend(parts), new SwarmServices(parts)),
    endpoint: endpoint.url,
    chosenBy: endpoint.source,
    version: `Docker ${connection.engineVersion} (API ${connection.apiVersion})`,
  };
}
