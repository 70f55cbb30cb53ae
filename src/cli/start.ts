import { systemClock } from '../core/clock.js';
import type { CliContext } from './cli-context.js';
import { connectDockerBackend } from './docker-connection.js';
import { type DockerGlobalFlags, parsePluginArgv } from './docker-global-flags.js';
import { main, reportError, shutdownOnSignals } from './main.js';
import { watchPluginSocket } from './plugin-socket.js';
import { processTerminal } from './terminal.js';

export const PLUGIN_NAME = 'proxytainer';

/** Docker's -l levels mapped to PROXYTAINER_LOG's. */
const DOCKER_LOG_LEVELS: Readonly<Record<string, string>> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error', fatal: 'error', panic: 'error' };

/**
 * Starts the CLI as `proxytainer`, or as a docker CLI plugin when the docker
 * CLI runs it (it sets DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND): then docker's
 * global flags come first and are taken off here, and a shutdown may be asked
 * for by closing the plugin socket instead of by a signal.
 */
export async function start(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const terminal = processTerminal(env);
  const asPlugin = env['DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND'] !== undefined;
  let args = argv;
  let dockerFlags: DockerGlobalFlags = {};
  let effectiveEnv = env;
  if (asPlugin) {
    try {
      const invocation = parsePluginArgv(argv, PLUGIN_NAME);
      dockerFlags = invocation.flags;
      if (invocation.kind === 'complete') {
        const { completions } = await import('./completion.js');
        terminal.out(completions(invocation.args));
        return 0;
      }
      args = invocation.kind === 'help' ? [...invocation.args, '--help'] : invocation.args;
    } catch (error) {
      return reportError(error, terminal, `docker ${PLUGIN_NAME}`);
    }
    const level = dockerFlags.debug === true ? 'debug' : DOCKER_LOG_LEVELS[dockerFlags.logLevel ?? ''];
    if ((env['PROXYTAINER_LOG'] ?? '') === '' && level !== undefined) effectiveEnv = { ...env, PROXYTAINER_LOG: level };
  }
  const context: CliContext = {
    terminal,
    env: effectiveEnv,
    clock: systemClock,
    commandName: asPlugin ? `docker ${PLUGIN_NAME}` : PLUGIN_NAME,
    dockerFlags,
    connect: (options) => connectDockerBackend(context, options),
    shutdownRequested: () => Promise.race([shutdownOnSignals(), ...(asPlugin ? [watchPluginSocket(env)] : [])]),
    exitCode: 0,
  };
  return main(args, context);
}
