import { type DockerConnection, connectDocker } from '../docker/docker-client.js';
import { type Endpoint, resolveEndpoint } from '../docker/endpoint.js';
import type { CliContext } from './cli-context.js';

/** The engine the docker CLI would use, given this command's flags and environment. */
export function endpointFor(context: CliContext): Endpoint {
  return resolveEndpoint(context.endpointFlags ?? context.dockerFlags, context.env);
}

/** Connects to that engine; a UserError naming the endpoint when it does not answer. */
export function dockerFor(context: CliContext): Promise<DockerConnection> {
  return connectDocker(endpointFor(context));
}
