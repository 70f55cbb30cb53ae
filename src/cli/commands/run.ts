import { type Command, Option } from 'commander';
import { formatHostPort, type HostPort, type PortSpec, reachesListener } from '../../core/address.js';
import { formatDuration } from '../../core/duration.js';
import { describeError, UsageError } from '../../core/errors.js';
import type { GroupSettings, SleepPlan } from '../../core/group.js';
import { fixedUpstream } from '../../core/upstream-source.js';
import type { ListenerSpec } from '../../core/listener.js';
import { LABEL } from '../../core/labels.js';
import type { HostnamePattern } from '../../core/protocols/hostname-pattern.js';
import { describeWakeRules } from '../../core/wake-on.js';
import { Proxy } from '../../core/proxy.js';
import { DEFAULT_UDP_SETTINGS } from '../../core/udp-settings.js';
import { join } from 'node:path';
import { ControlServer } from '../../control/control-server.js';
import { currentUid, defaultControlDir } from '../../control/control-paths.js';
import { ProxyControl } from '../../control/proxy-control.js';
import type { ProxyInfo } from '../../control/status-document.js';
import { Discovery } from '../../discovery/discovery.js';
import { WakeHistory } from '../../core/wake-history.js';
import { countingBackend } from '../../metrics/counting-backend.js';
import type { MetricsAddress } from '../../metrics/metrics-server.js';
import { ProxyMetrics } from '../../metrics/proxy-metrics.js';
import { startObservability } from '../observability.js';
import type { CliContext } from '../cli-context.js';
import { createConsoleLogger, logLevelFromEnv } from '../console-logger.js';
import { heldLimitWarning, openFileLimit } from '../fd-limit.js';
import { packageInfo } from '../package-info.js';
import { describeShared, managersOf, peersOf, runningProxies } from '../proxies.js';
import type { Logger } from '../../core/logger.js';
import { controlSocketOption } from './control-socket-option.js';
import {
  bindOption,
  bytesOption,
  countOption,
  durationOption,
  groupNameOption,
  hostnamesOption,
  hostPortOption,
  metricsAddressOption,
  portOption,
  positiveBytesOption,
  positiveDurationOption,
  protocolOption,
  sleepPlanOption,
  wakeOnOption,
  addressListOption,
  webhookOption,
} from '../option-parsers.js';
import { formatSleepPlan, STOP } from '../../core/sleep-plan.js';
import { formatBytes } from '../../core/bytes.js';
import type { AddressList } from '../../core/address-list.js';
import type { WakeOn } from '../../core/wake-on.js';

export interface RunOptions {
  readonly port?: PortSpec;
  readonly host?: HostPort;
  readonly group?: string;
  readonly idle: number;
  readonly health: boolean;
  readonly startTimeout: number;
  readonly stopTimeout?: number;
  readonly bind?: string;
  readonly connectionsKeepAwake?: boolean;
  readonly idleThreshold: number;
  readonly wakeOn: WakeOn;
  readonly wakeMinBytes: number;
  readonly wakeFrom?: AddressList;
  readonly allowFrom?: AddressList;
  readonly sleep: SleepPlan;
  readonly maxHeld: number;
  readonly udpTimeout: number;
  readonly maxFlows: number;
  readonly maxHeldDatagrams: number;
  readonly maxHeldBytes: number;
  readonly shutdownGrace: number;
  readonly controlSocket?: string;
  readonly metrics?: MetricsAddress;
  readonly webhook?: readonly URL[];
  readonly hostname?: readonly HostnamePattern[];
  readonly protocol?: 'minecraft';
  readonly motd?: string;
}

export const DEFAULT_MAX_HELD = 10_000;

export function registerRun(program: Command, context: CliContext): void {
  program
    .command('run', { isDefault: true })
    .summary('proxy a group\'s port: wake it on connect, stop it when idle')
    .description(
      'Listen on a port and forward every connection to the group\'s upstream, starting the group first if it is asleep and stopping it after the idle period.\n' +
        'Static mode: --port, --host and --group, as the original proxytainer. The subcommand may be left out: proxytainer --port 5001 --host localhost:5000 --group mygroup\n' +
        'Discovery mode: without --port and --host, every container labelled proxytainer.group is a member, and proxytainer.port / proxytainer.upstream on the members say what to listen on and where to forward. --group limits it to one group; the other options are defaults that the labels proxytainer.idle, proxytainer.idle-threshold, proxytainer.wake-on, proxytainer.wake-min-bytes, proxytainer.wake-from, proxytainer.allow-from, proxytainer.health and proxytainer.sleep override.',
    )
    .option('-p, --port <port>', 'port to listen on: 5001 (TCP), or 27015/udp', portOption)
    .option('--host <host:port>', 'where to forward connections (resolved at every connect), over the port\'s protocol', hostPortOption)
    .option('-g, --group <name>', 'the group: containers labelled proxytainer.group=<name>', groupNameOption)
    .addOption(new Option('--idle <duration>', 'stop the group after this long without traffic (seconds, or 500ms/30s/5m/1h)').argParser(positiveDurationOption).default(300_000, '300 seconds'))
    .option('--no-health', 'forward once members run; do not wait for Docker healthchecks')
    .addOption(new Option('--start-timeout <duration>', 'give up on a wake that is not ready after this long').argParser(positiveDurationOption).default(60_000, '60s'))
    .addOption(new Option('--stop-timeout <duration>', "how long Docker lets members stop before killing them (default: each container's own, usually 10s)").argParser(durationOption))
    .option('--bind <address>', 'address to listen on (default: every interface, IPv4 and IPv6)', bindOption)
    .option('--connections-keep-awake', 'open connections keep the group awake even when no bytes move')
    .addOption(
      new Option('--idle-threshold <bytes>', 'sleep when fewer bytes than this (both ways, 1kB, 2MiB) moved in the last idle period, so a trickle (a monitor, a keep-alive) does not keep the group up; 0: any byte keeps it up')
        .argParser(bytesOption)
        .default(0),
    )
    .addOption(
      new Option(
        '--wake-on <when>',
        'what wakes a sleeping group: connect (any connection) or data (only one that sends --wake-min-bytes, so port scans and silent probes wake nothing); servers that speak first (SSH, SMTP, MySQL) need connect',
      )
        .argParser(wakeOnOption)
        .default('connect'),
    )
    .addOption(new Option('--wake-min-bytes <count>', 'with --wake-on data: bytes a client must send before it wakes the group').argParser(countOption).default(1))
    .option('--wake-from <cidrs>', 'only clients from these networks (192.168.1.0/24,fd00::/8) may wake a sleeping group; others are closed while it sleeps, and served once it is awake', addressListOption)
    .option('--allow-from <cidrs>', 'only clients from these networks are served at all; others are closed at once', addressListOption)
    .addOption(new Option('--sleep <how>', 'how the group sleeps: stop, pause (memory kept, wakes in milliseconds), or pause,stop:DURATION (pause, then stop after DURATION more)').argParser(sleepPlanOption).default(STOP, 'stop'))
    .addOption(new Option('--max-held <count>', 'most connections held at once while groups wake; more are refused').argParser(countOption).default(DEFAULT_MAX_HELD))
    .addOption(new Option('--udp-timeout <duration>', 'a UDP flow (one client address:port) ends after this long without a datagram').argParser(positiveDurationOption).default(DEFAULT_UDP_SETTINGS.flowTimeoutMs, '60s'))
    .addOption(new Option('--max-flows <count>', 'most UDP flows open at once; datagrams from further clients are dropped').argParser(countOption).default(DEFAULT_UDP_SETTINGS.maxFlows))
    .addOption(new Option('--max-held-datagrams <count>', 'per group, most UDP datagrams held while it wakes; past it the oldest are dropped').argParser(countOption).default(DEFAULT_UDP_SETTINGS.maxHeldDatagrams))
    .addOption(new Option('--max-held-bytes <size>', 'per group, most bytes of UDP datagrams held while it wakes (1048576, 512k, 4MiB)').argParser(positiveBytesOption).default(DEFAULT_UDP_SETTINGS.maxHeldBytes, '1MiB'))
    .addOption(new Option('--shutdown-grace <duration>', 'on SIGTERM/SIGINT, how long open connections may finish').argParser(durationOption).default(5_000, '5s'))
    .option('--hostname <names>', 'static mode: serve only connections that name one of these hosts (TLS SNI, HTTP Host, Minecraft address; app.example.com, *.example.com; comma-separated or repeated); others are answered and closed, waking nothing. Discovery mode: the proxytainer.hostname label', hostnamesOption)
    .option('--protocol <protocol>', 'static mode: minecraft reads the Minecraft handshake: answers the server list ping while asleep, wakes on login and holds the player (at most 25s). Discovery mode: the proxytainer.protocol label', protocolOption)
    .option('--motd <text>', 'static mode, with --protocol minecraft: the server list text while asleep. Discovery mode: the proxytainer.motd label')
    .addOption(controlSocketOption())
    .option('--metrics <address>', 'serve Prometheus metrics and group health over HTTP on this address (127.0.0.1:9464, :9464, [::1]:9464); off by default, do not expose it publicly', metricsAddressOption)
    .option('--webhook <url>', "POST every group's state changes as JSON to this http(s) URL (repeatable)", webhookOption)
    .action(async (options: RunOptions) => {
      context.exitCode = await run(options, context);
    });
}

function groupSettings(options: RunOptions): GroupSettings {
  return {
    idleMs: options.idle,
    idleThresholdBytes: options.idleThreshold,
    health: options.health,
    startTimeoutMs: options.startTimeout,
    stopTimeoutSeconds: options.stopTimeout === undefined ? undefined : Math.ceil(options.stopTimeout / 1000),
    connectionsKeepAwake: options.connectionsKeepAwake === true,
    sleep: options.sleep,
    wakeOn: options.wakeOn,
    wakeMinBytes: options.wakeMinBytes,
    wakeFrom: options.wakeFrom ?? null,
    allowFrom: options.allowFrom ?? null,
  };
}

/** The settings in force, in one log line. */
function describeSettings(settings: GroupSettings): string {
  const rules = describeWakeRules(settings);
  const threshold = settings.idleThresholdBytes > 0 ? ` (below ${formatBytes(settings.idleThresholdBytes)})` : '';
  return `idle ${formatDuration(settings.idleMs)}${threshold}, sleep ${formatSleepPlan(settings.sleep)}, health ${settings.health ? 'on' : 'off'}, start timeout ${formatDuration(settings.startTimeoutMs)}${rules === '' ? '' : `, ${rules}`}`;
}

/**
 * Two proxies managing one group fight over it (each idle-stops it on its
 * own clock): say so at start-up, from what the other proxies report.
 */
async function warnAboutOtherManagers(groups: readonly string[], ownSocket: string, env: NodeJS.ProcessEnv, logger: Logger): Promise<void> {
  const { proxies } = await runningProxies(undefined, env);
  const managers = managersOf(proxies.filter((other) => other.socket !== ownSocket));
  for (const group of groups) {
    const others = managers.get(group) ?? [];
    if (others.length > 0) logger.warn(describeShared(group, [process.pid, ...others]));
  }
}

/** Static mode's --hostname, --protocol and --motd, checked: TCP only, static mode only (discovery mode has the labels). */
function routingOptions(options: RunOptions, staticMode: boolean): Pick<ListenerSpec, 'hostnames' | 'minecraft'> {
  const { hostname, protocol, motd } = options;
  const given = [hostname === undefined ? '' : '--hostname', protocol === undefined ? '' : '--protocol', motd === undefined ? '' : '--motd'].filter((flag) => flag !== '');
  if (given.length === 0) return {};
  const [flag] = given;
  if (!staticMode) throw new UsageError(`${flag ?? ''} is for static mode (--port/--host); in discovery mode label the members (${LABEL.hostname}, ${LABEL.protocol}, ${LABEL.motd})`);
  if (options.port?.protocol === 'udp') throw new UsageError(`${flag ?? ''} reads the first bytes of TCP connections; a UDP port (--port ${options.port.port}/udp) cannot use it`);
  if (motd !== undefined && protocol === undefined) throw new UsageError('--motd needs --protocol minecraft');
  return { hostnames: hostname ?? [], minecraft: protocol === undefined ? null : { motd } };
}

/** Static mode (one group, one listener) or discovery mode (listeners from labels), until SIGTERM/SIGINT. */
export async function run(options: RunOptions, context: CliContext): Promise<number> {
  const { port, host, group: groupName } = options;
  if ((port === undefined) !== (host === undefined)) {
    throw new UsageError(port === undefined ? '--host needs --port: give both, or neither for discovery mode' : '--port needs --host: give both, or neither for discovery mode');
  }
  const staticMode = port !== undefined && host !== undefined;
  const routing = routingOptions(options, staticMode);
  if (staticMode && groupName === undefined) {
    throw new UsageError('--group is required with --port and --host (members carry the label proxytainer.group=<name>)');
  }
  if (staticMode && reachesListener(host, { port: port.port, bind: options.bind })) {
    throw new UsageError(
      `--host ${formatHostPort(host)} is this proxy's own --port ${port.protocol === 'tcp' ? port.port : `${port.port}/udp`}: ${port.protocol === 'udp' ? 'datagrams' : 'connections'} would loop back into it; give the member another port, or --bind the proxy to another address`,
    );
  }

  const logger = createConsoleLogger({ level: logLevelFromEnv(context.env), write: context.terminal.err, style: context.terminal.errStyle });
  // Listen for SIGTERM/SIGINT from the start: one that arrives while starting up shuts down right after.
  const shutdown = context.shutdownRequested();
  const fdWarning = heldLimitWarning(options.maxHeld, openFileLimit());
  if (fdWarning !== null) logger.warn(fdWarning);
  const connection = await context.connect({ logger, group: groupName });
  logger.info(`using ${connection.version} at ${connection.endpoint} (chosen by ${connection.chosenBy})`);
  const metrics = options.metrics === undefined ? null : new ProxyMetrics(packageInfo.version);
  const backend = metrics === null ? connection.backend : countingBackend(connection.backend, (operation) => {
    metrics.countDockerRequest(operation);
  });
  const controlPath = options.controlSocket ?? join(defaultControlDir(context.env, currentUid()), `${process.pid}.sock`);
  const udp = { flowTimeoutMs: options.udpTimeout, maxFlows: options.maxFlows, maxHeldDatagrams: options.maxHeldDatagrams, maxHeldBytes: options.maxHeldBytes };
  const proxy = new Proxy({ runtime: backend, clock: context.clock, logger, maxHeld: options.maxHeld, peers: peersOf(controlPath, context.env), udp });
  const history = new WakeHistory(proxy, { clock: context.clock, logger });
  const settings = groupSettings(options);
  let discovery: Discovery | null = null;
  let control: ControlServer | null = null;
  let stopObserving: (() => Promise<void>) | null = null;
  try {
    stopObserving = await startObservability({
      proxy,
      history,
      metrics,
      metricsAddress: options.metrics,
      webhooks: options.webhook ?? [],
      webhookFor: (group) => (discovery === null ? undefined : discovery.webhookFor(group)),
      pid: process.pid,
      version: packageInfo.version,
      clock: context.clock,
      logger,
    });
    backend.follow();
    if (staticMode) {
      const group = proxy.group(groupName ?? '', settings);
      await proxy.listen({ port: port.port, protocol: port.protocol, bind: options.bind, upstream: fixedUpstream(host), ...routing }, group);
      logger.child(group.name).info(describeSettings(settings));
    } else {
      logger.info(`discovery mode: following containers labelled proxytainer.group${groupName === undefined ? '' : `=${groupName}`}`);
      discovery = new Discovery({ catalog: backend, proxy, logger, defaults: settings, bind: options.bind, graceMs: options.shutdownGrace });
      await discovery.start();
    }
    const info: ProxyInfo = {
      pid: process.pid,
      version: packageInfo.version,
      mode: staticMode ? 'static' : 'discovery',
      docker: connection.endpoint,
      controlSocket: controlPath,
      startedAt: new Date().toISOString(),
    };
    const problems = discovery === null ? () => [] : discovery.currentProblems.bind(discovery);
    const explicit = options.controlSocket !== undefined;
    try {
      control = await ControlServer.start(controlPath, new ProxyControl(proxy, info, problems, history), logger, { explicit });
    } catch (error) {
      // A socket asked for must work; without the default one the proxy still proxies (a read-only /run, say).
      if (explicit) throw error;
      logger.warn(`${describeError(error)}; status, wake and sleep will not reach this proxy`);
    }
    await warnAboutOtherManagers(proxy.allGroups().map((group) => group.name), controlPath, context.env, logger);
    const why = await shutdown;
    logger.info(`${why}: shutting down (open connections get ${formatDuration(options.shutdownGrace)} to finish; containers are left as they are)`);
  } finally {
    await control?.close();
    await discovery?.stop();
    await proxy.shutdown(options.shutdownGrace);
    await stopObserving?.();
    history.close();
    await backend.close();
  }
  logger.info('stopped');
  return 0;
}
