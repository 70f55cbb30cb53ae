import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort } from './address.js';
import type { Clock } from './clock.js';
import { describeError, errorCode } from './errors.js';
import { listenError } from './listen-error.js';
import type { Group } from './group.js';
import { GroupForwarder } from './group-forwarder.js';
import type { HoldLimit } from './hold-limit.js';
import type { Logger } from './logger.js';
import { peerOf } from './peer-of.js';
import { PortRouter, type RouteEntry, type RoutingCounts } from './port-router.js';
import type { HostnamePattern } from './protocols/hostname-pattern.js';
import type { MinecraftRoute, Route } from './route.js';
import { type ChunkSource, type Peer, SocketReader, STREAM_CHUNKS } from './socket-reader.js';
import { type TakeOver, takeOverAccepted, takeoverAvailable } from './take-over-accepted.js';
import { ThrottledReport } from './throttled-report.js';
import type { UpstreamSource } from './upstream-source.js';

export { fixedUpstream, type UpstreamSource } from './upstream-source.js';

export interface ListenerSpec {
  readonly port: number;
  /** Address to bind; undefined binds every interface, IPv6 and IPv4 where the host has both. */
  readonly bind: string | undefined;
  readonly upstream: UpstreamSource;
  /** TCP only: the names this group answers to on the port (static mode's --hostname); empty or left out: every name. */
  readonly hostnames?: readonly HostnamePattern[];
  /** TCP only: read Minecraft handshakes (--protocol minecraft). */
  readonly minecraft?: MinecraftRoute | null;
}

/** A route as `status` shows it: the group, where it forwards, and the names it answers to on this port. */
export interface RouteInfo {
  readonly group: Group;
  readonly upstreamDescription: string;
  readonly hostnames: readonly string[];
  /** It takes the connections whose names no other route claims. */
  readonly fallback: boolean;
  readonly minecraft: boolean;
  /** Why connections to its upstream fail, when it is something to fix; null when nothing is known to. */
  readonly upstreamProblem: string | null;
}

export interface ListenerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly holdLimit: HoldLimit;
  /**
   * How accepted connections come to be read into buffers of our own:
   * take-over-accepted.ts by default, where this Node allows it; false keeps
   * Node's own reads. A function stands in for the takeover in tests.
   */
  readonly takeOverAccepted?: TakeOver | false | undefined;
}

/** How accepted connections are read: into our own buffers, or through Node's streams (the fallback). */
export type ClientReads = 'own buffer' | 'node streams';

const REFUSAL_LOG_INTERVAL_MS = 5000;
/**
 * The kernel's queue of connections not yet accepted. Node's default is 511;
 * a burst against a sleeping group (thousands in a second) overflows that, and
 * each overflowed client waits a second for its SYN to be retried. The kernel
 * caps it at net.core.somaxconn (4096 on current kernels).
 */
const LISTEN_BACKLOG = 4096;
/** An accepted connection left paused by pauseOnConnect, untouched: Node's own reads start, as without the takeover. */
function started(accepted: Socket): ChunkSource {
  accepted.read(0);
  return STREAM_CHUNKS;
}

/** One line for `count` connections the server could not accept; out of descriptors says what to raise. */
export function acceptErrorMessage(count: number, port: number, error: unknown): string {
  const code = errorCode(error);
  const what = `could not accept ${count} connection(s) on port ${port}: ${describeError(error)}`;
  if (code === 'EMFILE')
    return `${what}: proxytainer has run out of file descriptors (each held connection takes one, each forwarded connection two); raise its open-file limit (ulimit -n; docker run --ulimit nofile=N) or lower --max-held`;
  if (code === 'ENFILE') return `${what}: the system has run out of file descriptors (fs.file-max); close other programs' files or raise the system limit`;
  return what;
}

/**
 * Owns one listening TCP port: accepts connections, reads them into buffers
 * of its own where this Node allows it, refuses what cannot be held, and
 * drains on close. Each connection goes to one group's forwarder
 * (group-forwarder.ts), which holds it, wakes the group and splices it
 * through. A port of one group that names no host hands every connection
 * over at once; a port that several groups share, or that names hosts or
 * speaks Minecraft, reads each connection's first bytes to choose
 * (port-router.ts).
 */
export class Listener {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly emptied: (() => void)[] = [];
  private readonly router: PortRouter;
  /** By group name, kept across route changes so a group's proven upstream survives them. */
  private forwarders = new Map<string, GroupForwarder>();
  private boundPort: number;
  /** Null once the takeover is off: not wanted, unavailable, or failed. */
  private takeover: TakeOver | null;
  /** The server was made with pauseOnConnect, for the takeover: each connection not taken over is started by hand. */
  private readonly pausedOnConnect: boolean;
  /** Connections refused for want of a place to hold them: the first logged at once, the rest summed up at most every few seconds, and at teardown. */
  private readonly refusals: ThrottledReport;
  /** Connections the server failed to accept (EMFILE, ENFILE…), counted like refusals: a flood at the descriptor limit is one line every few seconds. */
  private readonly acceptErrors: ThrottledReport;
  private lastAcceptError: Error | null = null;

  constructor(
    readonly spec: { readonly port: number; readonly bind: string | undefined },
    routes: readonly Route[],
    private readonly deps: ListenerDeps,
  ) {
    this.boundPort = spec.port;
    this.refusals = new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
      this.logger.warn(
        `refused ${count} connection(s) on port ${this.port}: ${deps.holdLimit.max} connections are already held waiting for a wake (raise --max-held to allow more)`,
      );
    });
    this.acceptErrors = new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
      this.logger.error(acceptErrorMessage(count, this.port, this.lastAcceptError));
    });
    this.router = new PortRouter({ clock: deps.clock, logger: deps.logger, port: () => this.port });
    this.setRoutes(routes);
    const takeover = deps.takeOverAccepted ?? (takeoverAvailable ? takeOverAccepted : false);
    this.takeover = takeover === false ? null : takeover;
    this.pausedOnConnect = this.takeover !== null;
    // pauseOnConnect: nothing is read from an accepted connection before it is taken over.
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: this.pausedOnConnect }, (socket) => {
      this.accept(socket);
    });
  }

  /** The port's own messages carry its group's name when it has one group, as they did before ports were shared. */
  private get logger(): Logger {
    const routes = this.router.all();
    const [only] = routes;
    return routes.length === 1 && only !== undefined ? this.deps.logger.child(only.route.group.name) : this.deps.logger;
  }

  /** The port listened on (the one asked for, or the one the system chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.clients.size;
  }

  /** The first route's group: the port's only group, unless several share it (see `routes`). */
  get group(): Group {
    const [first] = this.router.all();
    if (first === undefined) throw new Error(`port ${this.port} has no routes`);
    return first.route.group;
  }

  /** The first route's upstream; see `routes` for a shared port. */
  get upstreamDescription(): string {
    return this.router.all()[0]?.forwarder.upstreamDescription ?? '-';
  }

  /** The first route's upstream problem; see `routes` for a shared port. */
  get upstreamProblem(): string | null {
    return this.router.all()[0]?.forwarder.upstreamProblem ?? null;
  }

  /** Every group on this port, as `status` shows them. */
  routes(): RouteInfo[] {
    return this.router.all().map((entry) => ({
      group: entry.route.group,
      upstreamDescription: entry.forwarder.upstreamDescription,
      hostnames: this.router.namesOf(entry),
      fallback: this.router.sniffs && this.router.isFallback(entry),
      minecraft: entry.route.minecraft !== null,
      upstreamProblem: entry.forwarder.upstreamProblem,
    }));
  }

  /** What routing closed without waking anything, and the pings it answered; null on a port that reads nothing first. */
  routingCounts(): RoutingCounts | null {
    return this.router.sniffs ? { ...this.router.counts } : null;
  }

  /** How accepted connections are read; 'node streams' where the takeover is off, unavailable, or failed once. */
  get clientReads(): ClientReads {
    return this.takeover === null ? 'node streams' : 'own buffer';
  }

  /** Forwards new connections somewhere else from now on; open ones stay where they are. For a port of one group. */
  setUpstream(upstream: UpstreamSource): void {
    for (const entry of this.router.all()) entry.forwarder.setUpstream(upstream);
  }

  /**
   * Replaces the groups this port serves, oldest claim first. A group that
   * stays keeps its forwarder (and what it learnt about its upstream); one
   * that goes lets its open connections finish where they are.
   */
  setRoutes(routes: readonly Route[]): void {
    const forwarders = new Map<string, GroupForwarder>();
    const entries: RouteEntry[] = [];
    for (const route of routes) {
      let forwarder = this.forwarders.get(route.group.name);
      if (forwarder !== undefined && forwarder.group !== route.group) forwarder = undefined;
      if (forwarder === undefined) {
        forwarder = new GroupForwarder(route.group, route.upstream, {
          clock: this.deps.clock,
          logger: this.deps.logger,
          holdLimit: this.deps.holdLimit,
          where: () => ({ port: this.port, bind: this.spec.bind }),
          refuse: (client) => {
            this.refuse(client);
          },
        });
      } else {
        forwarder.setUpstream(route.upstream);
      }
      forwarders.set(route.group.name, forwarder);
      entries.push({ route, forwarder });
    }
    for (const [name, forwarder] of this.forwarders) if (forwarders.get(name) !== forwarder) forwarder.close();
    this.forwarders = forwarders;
    this.router.set(entries);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        const where = this.spec.bind === undefined ? `port ${this.spec.port}` : formatHostPort({ host: this.spec.bind, port: this.spec.port });
        reject(listenError(error, where, this.spec.bind));
      };
      this.server.once('error', onError);
      this.server.listen({ port: this.spec.port, host: this.spec.bind, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        if (typeof address === 'object' && address !== null) this.boundPort = address.port;
        resolve();
      });
    });
    // Accept errors are counted and reported throttled; the listener stays open. Running out of
    // descriptors rarely comes here: libuv keeps one in reserve (/dev/null, opened with its first
    // stream), and at EMFILE/ENFILE closes it, accepts and closes every pending connection, and
    // opens it again, telling Node nothing. Only without that reserve does EMFILE arrive (README: limits).
    this.server.on('error', (error) => {
      this.lastAcceptError = error;
      this.acceptErrors.add();
    });
    const where = this.spec.bind === undefined ? `port ${this.port} (all interfaces)` : formatHostPort({ host: this.spec.bind, port: this.port });
    for (const route of this.routes()) {
      const names = route.hostnames.length > 0 ? ` for ${route.hostnames.join(', ')}` : route.fallback ? ' for names no other group claims' : '';
      this.deps.logger.child(route.group.name).info(`listening on ${where}${names}, forwarding to ${route.upstreamDescription}`);
    }
    this.logger.debug(`port ${this.port} reads its connections through ${this.clientReads === 'own buffer' ? 'buffers of its own' : "Node's streams"}`);
  }

  /** Stops accepting; connections already here are left to `drain`. */
  stopAccepting(): void {
    for (const forwarder of this.forwarders.values()) forwarder.close();
    if (this.server.listening) this.server.close();
    this.refusals.close();
    this.acceptErrors.close();
  }

  /** Waits up to `graceMs` for open connections to finish, then closes what is left; resolves when all are closed. */
  async drain(graceMs: number): Promise<void> {
    if (this.clients.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenEmpty(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    for (const client of this.clients) client.destroy();
    await this.whenEmpty();
    // Connections sent back to wait while draining may have been refused since stopAccepting.
    this.refusals.close();
  }

  private whenEmpty(): Promise<void> {
    if (this.clients.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  private accept(accepted: Socket): void {
    const client = this.adopt(accepted);
    if (client === null) return;
    const socket = client.socket;
    this.clients.add(socket);
    socket.on('error', (error) => {
      this.logger.debug(`connection from ${peerOf(socket)}: ${describeError(error)}`);
    });
    socket.once('close', () => {
      this.clients.delete(socket);
      if (this.clients.size === 0) for (const resolve of this.emptied.splice(0)) resolve();
    });
    const direct = this.router.direct;
    if (direct !== null) direct.forwarder.handle(client);
    else void this.dispatch(client);
  }

  /** Routes by the first bytes; while they are awaited, the connection holds a place under --max-held, as a held one does. */
  private async dispatch(client: Peer): Promise<void> {
    const { holdLimit } = this.deps;
    if (!holdLimit.take()) {
      this.refuse(client.socket);
      return;
    }
    try {
      await this.router.dispatch(client);
    } finally {
      holdLimit.release();
    }
  }
  /** The accepted connection and its reader: taken over where this Node allows it, else as Node made it. */
  private adopt(accepted: Socket): Peer | null {
    if (this.takeover === null) return { socket: accepted, reader: this.pausedOnConnect ? started(accepted) : STREAM_CHUNKS };
    const reader = new SocketReader();
    try {
      const socket = this.takeover(accepted, reader.onread);
      if (socket !== null) return { socket, reader };
    } catch (error) {
      accepted.destroy();
      this.stopTakingOver(`taking over an accepted connection failed, so it was closed (${describeError(error)})`);
      return null;
    }
    this.stopTakingOver('this Node does not let proxytainer read accepted connections into buffers of its own');
    return { socket: accepted, reader: started(accepted) };
  }

  /** The server stays paused on connect (public, documented); each connection is then started by hand (`started`). */
  private stopTakingOver(why: string): void {
    this.takeover = null;
    this.logger.warn(`${why}; reading connections through Node's streams from now on, which costs more CPU per byte`);
  }

  private refuse(client: Socket): void {
    client.destroy();
    this.refusals.add();
  }
}
