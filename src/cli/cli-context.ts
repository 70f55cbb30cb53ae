import type { Backend } from '../core/backend.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { EndpointFlags } from '../docker/endpoint.js';
import type { DockerGlobalFlags } from './docker-global-flags.js';
import type { Terminal } from './terminal.js';

/** A backend a command may use, and how it was chosen, for messages and `status`. */
export interface BackendConnection {
  readonly backend: Backend;
  /** `unix:///var/run/docker.sock` */
  readonly endpoint: string;
  /** What chose it: `--context prod`, `DOCKER_HOST`, `the default`. */
  readonly chosenBy: string;
  /** `Docker 29.1.2 (API 1.52)` */
  readonly version: string;
}

/** What a command needs from the process; tests and the plugin entry point supply their own. */
export interface CliContext {
  readonly terminal: Terminal;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  /** `proxytainer`, or `docker proxytainer` when the docker CLI runs it as a plugin. */
  readonly commandName: string;
  /** Docker's global flags given before the plugin name (empty when run as proxytainer). */
  readonly dockerFlags: DockerGlobalFlags;
  /** The engine choice for this command: docker's flags, overridden by -H/--context given to proxytainer itself. */
  endpointFlags?: EndpointFlags;
  /**
   * Connects to the backend (Docker, chosen as the docker CLI would): the one
   * way commands get one, so only the composition root knows which it is.
   */
  readonly connect: (options: { readonly logger: Logger; readonly group?: string | undefined }) => Promise<BackendConnection>;
  /** Resolves with a reason when the process is asked to stop (SIGTERM, SIGINT, the docker CLI's socket closing). */
  readonly shutdownRequested: () => Promise<string>;
  /** Set by a command to the status the process should exit with. */
  exitCode: number;
}
