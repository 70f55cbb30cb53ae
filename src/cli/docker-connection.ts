import { type DockerConnection, connectDocker } from '../docker/docker-client.js';
import { resolveEndpoint } from '../docker/endpoint.js';
import type { CliContext } from './cli-context.js';

/** Connects to the engine the docker CLI would use; a UserError naming the endpoint when it does not answer. */
export function dockerFor(context: CliContext): Promise<DockerConnection> {
  return connectDocker(resolveEndpoint({}, context.env));
}
