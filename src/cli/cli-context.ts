import type { Clock } from '../core/clock.js';
import type { EndpointFlags } from '../docker/endpoint.js';
import type { DockerGlobalFlags } from './docker-global-flags.js';
import type { Terminal } from './terminal.js';

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
  /** Resolves with a reason when the process is asked to stop (SIGTERM, SIGINT, the docker CLI's socket closing). */
  readonly shutdownRequested: () => Promise<string>;
  /** Set by a command to the status the process should exit with. */
  exitCode: number;
}
