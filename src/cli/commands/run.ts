import { type Command, Option } from 'commander';
import type { HostPort } from '../../core/address.js';
import { formatDuration } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import type { GroupSettings } from '../../core/group.js';
import { Proxy } from '../../core/proxy.js';
import { connectDocker } from '../../docker/docker-client.js';
import { DockerRuntime } from '../../docker/docker-runtime.js';
import { resolveEndpoint } from '../../docker/endpoint.js';
import type { CliContext } from '../cli-context.js';
import { createConsoleLogger, logLevelFromEnv } from '../console-logger.js';
import { countOption, durationOption, groupNameOption, hostPortOption, portOption, positiveDurationOption } from '../option-parsers.js';

export interface RunOptions {
  readonly port?: number;
  readonly host?: HostPort;
  readonly group?: string;
  readonly idle: number;
  readonly health: boolean;
  readonly startTimeout: number;
  readonly stopTimeout?: number;
  readonly bind?: string;
  readonly connectionsKeepAwake?: boolean;
  readonly maxHeld: number;
  readonly shutdownGrace: number;
}

export const DEFAULT_MAX_HELD = 10_000;

export function registerRun(program: Command, context: CliContext): void {
  program
    .command('run', { isDefault: true })
    .summary('proxy a group\'s port: wake it on connect, stop it when idle')
    .description(
      'Listen on a port and forward every connection to the group\'s upstream, starting the group first if it is asleep and stopping it after the idle period.\n' +
        'Static mode: --port, --host and --group, as the original proxytainer. The subcommand may be left out: proxytainer --port 5001 --host localhost:5000 --group mygroup',
    )
    .option('-p, --port <port>', 'port to listen on', portOption)
    .option('--host <host:port>', 'where to forward connections (resolved at every connect)', hostPortOption)
    .option('-g, --group <name>', 'the group: containers labelled proxytainer.group=<name>', groupNameOption)
    .addOption(new Option('--idle <duration>', 'stop the group after this long without traffic (seconds, or 500ms/30s/5m/1h)').argParser(positiveDurationOption).default(300_000, '300 seconds'))
    .option('--no-health', 'forward once members run; do not wait for Docker healthchecks')
    .addOption(new Option('--start-timeout <duration>', 'give up on a wake that is not ready after this long').argParser(positiveDurationOption).default(60_000, '60s'))
    .addOption(new Option('--stop-timeout <duration>', "how long Docker lets members stop before killing them (default: each container's own, usually 10s)").argParser(durationOption))
    .option('--bind <address>', 'address to listen on (default: every interface, IPv4 and IPv6)')
    .option('--connections-keep-awake', 'open connections keep the group awake even when no bytes move')
    .addOption(new Option('--max-held <count>', 'most connections held at once while groups wake; more are refused').argParser(countOption).default(DEFAULT_MAX_HELD))
    .addOption(new Option('--shutdown-grace <duration>', 'on SIGTERM/SIGINT, how long open connections may finish').argParser(durationOption).default(5_000, '5s'))
    .action(async (options: RunOptions) => {
      context.exitCode = await run(options, context);
    });
}

function groupSettings(options: RunOptions): GroupSettings {
  return {
    idleMs: options.idle,
    health: options.health,
    startTimeoutMs: options.startTimeout,
    stopTimeoutSeconds: options.stopTimeout === undefined ? undefined : Math.ceil(options.stopTimeout / 1000),
    connectionsKeepAwake: options.connectionsKeepAwake === true,
  };
}

/** Static mode: one group, one listener, until SIGTERM/SIGINT. */
export async function run(options: RunOptions, context: CliContext): Promise<number> {
  const { port, host, group: groupName } = options;
  if ((port === undefined) !== (host === undefined)) {
    throw new UsageError(port === undefined ? '--host needs --port: give both, or neither for discovery mode' : '--port needs --host: give both, or neither for discovery mode');
  }
  if (port === undefined || host === undefined) {
    throw new UsageError('discovery mode (run without --port and --host) is not available yet; give --port, --host and --group');
  }
  if (groupName === undefined) throw new UsageError('--group is required with --port and --host (members carry the label proxytainer.group=<name>)');

  const logger = createConsoleLogger({ level: logLevelFromEnv(context.env), write: context.terminal.err, style: context.terminal.errStyle });
  const endpoint = resolveEndpoint({}, context.env);
  const connection = await connectDocker(endpoint);
  logger.info(`using Docker ${connection.engineVersion} at ${endpoint.url} (API ${connection.apiVersion}, chosen by ${endpoint.source})`);
  const runtime = new DockerRuntime({ docker: connection.docker, endpoint: endpoint.url, clock: context.clock, logger, group: groupName });
  const proxy = new Proxy({ runtime, clock: context.clock, logger, maxHeld: options.maxHeld });
  try {
    const settings = groupSettings(options);
    const group = proxy.group(groupName, settings);
    runtime.follow();
    await proxy.listen({ port, bind: options.bind, upstream: host }, group);
    logger.child(groupName).info(`idle ${formatDuration(settings.idleMs)}, health ${settings.health ? 'on' : 'off'}, start timeout ${formatDuration(settings.startTimeoutMs)}`);
    const why = await context.shutdownRequested();
    logger.info(`${why}: shutting down (open connections get ${formatDuration(options.shutdownGrace)} to finish; containers are left as they are)`);
  } finally {
    await proxy.shutdown(options.shutdownGrace);
    await runtime.close();
  }
  logger.info('stopped');
  return 0;
}
