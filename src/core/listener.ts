import { connect, createServer, type Server, type Socket } from 'node:net';
import { abortable } from './abortable.js';
import { clientAddress } from './address-list.js';
import { readFirstBytes } from './first-bytes.js';
import { ThrottledReport } from './throttled-report.js';
import { formatHostPort, type HostPort, reachesListener } from './address.js';
import type { Clock } from './clock.js';
import { formatDuration } from './duration.js';
import { describeError, errorCode, UserError } from './errors.js';
import type { ConnectionTracker, Group, TurnedAway } from './group.js';
import type { HoldLimit } from './hold-limit.js';
import type { Logger } from './logger.js';
import { Semaphore } from './semaphore.js';
import { type ChunkSource, type Peer, SocketReader, STREAM_CHUNKS } from './socket-reader.js';
import { splice } from './splice.js';
import { type TakeOver, takeOverAccepted, takeoverAvailable } from './take-over-accepted.js';
import { connectWithRetry, MAX_ATTEMPT_MS, type UpstreamConnection } from './upstream.js';
import { upstreamProblem, UpstreamProblemReport } from './upstream-problem.js';

/** Where a listener forwards to, found afresh at every wake. */
export interface UpstreamSource {
  /** For logs and status: `127.0.0.1:80`, `web-1:8080 (its address)`. */
  readonly description: string;
  resolve(signal: AbortSignal): Promise<HostPort>;
}

/** An upstream given as host:port; the host name is still resolved at every connect. */
export function fixedUpstream(target: HostPort): UpstreamSource {
  return { description: formatHostPort(target), resolve: () => Promise.resolve(target) };
}

export interface ListenerSpec {
  readonly port: number;
  /** Address to bind; undefined binds every interface, IPv6 and IPv4 where the host has both. */
  readonly bind: string | undefined;
  readonly upstream: UpstreamSource;
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
/**
 * Upstream connects in flight at once. When a wake releases thousands of held
 * connections together, connecting them all at once would overflow the
 * upstream's own accept queue (often 128 to 511) and cost each overflowed
 * connect a one-second SYN retry.
 */
const UPSTREAM_CONNECTS_IN_FLIGHT = 128;

function peerOf(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return 'a closed socket';
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; show them as people know them.
  return formatHostPort({ host: clientAddress(remoteAddress), port: remotePort });
}

/** An accepted connection left paused by pauseOnConnect, untouched: Node's own reads start, as without the takeover. */
function started(accepted: Socket): ChunkSource {
  accepted.read(0);
  return STREAM_CHUNKS;
}

/** Read through a function, so the check is made again after every await. */
function isGone(socket: Socket): boolean {
  return socket.destroyed;
}

/** The client closed its connection while it waited. */
class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** Turns a listen error into one the user can act on. */
function listenError(error: unknown, spec: ListenerSpec): Error {
  const where = spec.bind === undefined ? `port ${spec.port}` : formatHostPort({ host: spec.bind, port: spec.port });
  switch (errorCode(error)) {
    case 'EADDRINUSE':
      return new UserError(`cannot listen on ${where}: it is already in use; stop what listens there or choose another port`, { cause: error });
    case 'EACCES':
      return new UserError(`cannot listen on ${where}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new UserError(`cannot listen on ${where}: ${spec.bind ?? ''} is not an address of this machine`, { cause: error });
    default:
      return new UserError(`cannot listen on ${where}: ${describeError(error)}`, { cause: error });
  }
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
 * Owns one listening port of a group. Each connection is held (what it sends
 * left unread beyond its first 64 KiB) until the group is Running, then
 * connected to the upstream and spliced. After a wake, one connection at a
 * time probes the upstream with its real connect; the rest follow once it has
 * been accepted, so a burst does not hammer an upstream that is still coming
 * up. From then on, while the group stays Running, a new connection takes the
 * direct path: a plain connect to the address that accepted, then the splice.
 */
export class Listener {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly emptied: (() => void)[] = [];
  private readonly logger: Logger;
  private upstream: UpstreamSource;
  /** The upstream as resolved for the current wake; forgotten when the group leaves Running. */
  private resolved: Promise<HostPort> | null = null;
  /** The address the upstream accepted a connection on since the wake; null until then, and once the group leaves Running. */
  private proven: HostPort | null = null;
  private boundPort: number;
  private pilot: Promise<void> | null = null;
  private readonly connectSlots = new Semaphore(UPSTREAM_CONNECTS_IN_FLIGHT);
  /** Aborted whenever the group leaves Running; a fresh one each time it runs again. */
  private running = new AbortController();
  /** Direct connects under way, each with what sends it back to wait: the group left Running. */
  private readonly directConnects = new Set<() => void>();
  /** Null once the takeover is off: not wanted, unavailable, or failed. */
  private takeover: TakeOver | null;
  /** The server was made with pauseOnConnect, for the takeover: each connection not taken over is started by hand. */
  private readonly pausedOnConnect: boolean;
  /** Connections refused for want of a place to hold them: the first logged at once, the rest summed up at most every few seconds, and at teardown. */
  private readonly refusals: ThrottledReport;
  /** Connections the server failed to accept (EMFILE, ENFILE…), counted like refusals: a flood at the descriptor limit is one line every few seconds. */
  private readonly acceptErrors: ThrottledReport;
  private lastAcceptError: Error | null = null;
  /** Why connections to the upstream fail, when it is something to fix: warned once per cause, shown in status. */
  private readonly problems: UpstreamProblemReport;
  /** Connections the wake rules closed, logged at most every few seconds per rule (a scan may bring thousands). */
  private readonly turnedAway: Record<Exclude<TurnedAway, 'silent'>, ThrottledReport>;
  private readonly stopWatchingGroup: () => void;

  constructor(
    readonly spec: ListenerSpec,
    readonly group: Group,
    private readonly deps: ListenerDeps,
  ) {
    this.logger = deps.logger.child(group.name);
    this.upstream = spec.upstream;
    this.boundPort = spec.port;
    const takeover = deps.takeOverAccepted ?? (takeoverAvailable ? takeOverAccepted : false);
    this.takeover = takeover === false ? null : takeover;
    this.pausedOnConnect = this.takeover !== null;
    // pauseOnConnect: nothing is read from an accepted connection before it is taken over.
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: this.pausedOnConnect }, (socket) => {
      this.accept(socket);
    });
    this.refusals = new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
      this.logger.warn(
        `refused ${count} connection(s) on port ${this.port}: ${deps.holdLimit.max} connections are already held waiting for a wake (raise --max-held to allow more)`,
      );
    });
    this.problems = new UpstreamProblemReport(this.logger);
    this.acceptErrors = new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
      this.logger.error(acceptErrorMessage(count, this.port, this.lastAcceptError));
    });
    const report = (rule: string) => (count: number): void => {
      this.logger.info(`closed ${count} connection(s) on port ${this.port} from clients outside ${rule}`);
    };
    this.turnedAway = {
      notAllowed: new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
        report(`allow-from ${group.settings.allowFrom?.text ?? ''}`)(count);
      }),
      outsideWakeFrom: new ThrottledReport(deps.clock, REFUSAL_LOG_INTERVAL_MS, (count) => {
        report(`wake-from ${group.settings.wakeFrom?.text ?? ''}, while the group sleeps`)(count);
      }),
    };
    this.stopWatchingGroup = group.onStateChange((state) => {
      if (state === 'Running') {
        if (this.running.signal.aborted) this.running = new AbortController();
      } else {
        this.running.abort(new Error(`the group is ${state}`));
        this.forgetUpstream();
        for (const sendBack of [...this.directConnects]) sendBack();
      }
    });
  }

  /** The port listened on (the one asked for, or the one the system chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.clients.size;
  }

  get upstreamDescription(): string {
    return this.upstream.description;
  }

  /** What stops connections from reaching the upstream, until one gets through; null when nothing is known to. */
  get upstreamProblem(): string | null {
    return this.problems.current;
  }

  /** How accepted connections are read; 'node streams' where the takeover is off, unavailable, or failed once. */
  get clientReads(): ClientReads {
    return this.takeover === null ? 'node streams' : 'own buffer';
  }

  /** Forwards new connections somewhere else from now on; open ones stay where they are. */
  setUpstream(upstream: UpstreamSource): void {
    if (upstream.description === this.upstream.description) return;
    this.upstream = upstream;
    this.forgetUpstream();
    this.problems.clear();
    this.logger.info(`port ${this.port} now forwards to ${upstream.description}`);
  }

  private forgetUpstream(): void {
    this.resolved = null;
    this.proven = null;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(listenError(error, this.spec));
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
    this.logger.info(`listening on ${where}, forwarding to ${this.upstream.description}`);
    this.logger.debug(`port ${this.port} reads its connections through ${this.clientReads === 'own buffer' ? 'buffers of its own' : "Node's streams"}`);
  }

  /** Stops accepting; connections already here are left to `drain`. */
  stopAccepting(): void {
    this.stopWatchingGroup();
    if (this.server.listening) this.server.close();
    for (const report of [this.refusals, this.acceptErrors, ...Object.values(this.turnedAway)]) report.close();
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
    const { allowFrom, wakeFrom, wakeOn } = this.group.settings;
    if (allowFrom !== null && !allowFrom.has(socket.remoteAddress)) {
      this.turnAway(socket, 'notAllowed');
      return;
    }
    const proven = this.proven;
    if (proven !== null && this.group.state === 'Running') this.connectDirect(client, proven, this.track(socket));
    else if (this.asleep() && (wakeFrom !== null || wakeOn === 'data')) void this.admit(client);
    else void this.serve(client, this.track(socket));
  }

  private track(socket: Socket): ConnectionTracker {
    return this.group.track(() => socket.destroy(), () => peerOf(socket));
  }

  /** Asleep, or on its way there: a connection now would start a wake. */
  private asleep(): boolean {
    const { state } = this.group;
    return state === 'Idle' || state === 'Stopping';
  }

  private turnAway(socket: Socket, why: TurnedAway): void {
    socket.destroy();
    this.group.turnedAway(why);
    if (why !== 'silent') this.turnedAway[why].add();
  }

  /**
   * The wake rules, for a connection to a sleeping group: a client outside
   * --wake-from is closed at once; with --wake-on data, the client must send
   * --wake-min-bytes within the start timeout. Until it is let in, the
   * connection is not tracked: it neither wakes the group nor counts as
   * activity. What it sent is forwarded first, as for any held connection.
   */
  private async admit(accepted: Peer): Promise<void> {
    const { socket } = accepted;
    const { wakeFrom, wakeOn, wakeMinBytes, startTimeoutMs } = this.group.settings;
    if (wakeFrom !== null && !wakeFrom.has(socket.remoteAddress)) {
      this.turnAway(socket, 'outsideWakeFrom');
      return;
    }
    let client = accepted;
    if (wakeOn === 'data') {
      const first = await readFirstBytes(accepted, { enough: (bytes) => bytes.length >= wakeMinBytes, limit: wakeMinBytes, timeoutMs: startTimeoutMs, clock: this.deps.clock });
      if (first.end === 'closed') return;
      // Woken meanwhile by another client: an awake group serves everyone.
      if (first.bytes.length < wakeMinBytes && this.asleep()) {
        if (this.logger.enabled('debug')) {
          const why = first.end === 'ended' ? 'before it closed its side' : `within the start timeout (${formatDuration(startTimeoutMs)})`;
          this.logger.debug(`closing connection from ${peerOf(socket)} without waking the group: it sent ${first.bytes.length} of the ${wakeMinBytes} byte(s) --wake-on data asks for ${why}`);
        }
        this.turnAway(socket, 'silent');
        return;
      }
      client = first.client;
    }
    void this.serve(client, this.track(socket));
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

  private async serve(client: Peer, tracker: ConnectionTracker): Promise<void> {
    const socket = client.socket;
    try {
      for (;;) {
        if (this.group.state !== 'Running' && !(await this.holdUntilRunning(socket))) return;
        if (isGone(socket)) return;
        // The upstream gets the start timeout to accept, counted from each time the group is found Running:
        // a connection held again across a stop and a new wake does not inherit the first wake's deadline.
        const deadline = this.deps.clock.now() + this.group.settings.startTimeoutMs;
        const upstream = await this.connectWhileRunning(deadline, socket);
        // The group stopped while this connection was connecting: hold it again, unless the failed wake closed it.
        if (upstream === null) {
          if (isGone(socket)) return;
          continue;
        }
        this.forward(client, upstream, tracker, upstream.target);
        return;
      }
    } catch (error) {
      if (!(error instanceof ClientGoneError) && this.logger.enabled('debug')) this.logger.debug(`closing connection from ${peerOf(socket)}: ${describeError(error)}`);
      socket.destroy();
    } finally {
      if (socket.destroyed) tracker.closed();
    }
  }

  /**
   * The direct path, for a Running group whose upstream accepted since the
   * wake: a plain connect to the address that accepted, then the splice. The
   * only abort wiring is three listeners and a timer, gone once connected. A
   * failed connect (the upstream went away) falls back to `serve`, which
   * retries with backoff; a group that leaves Running meanwhile sends the
   * connection back to wait for the next wake, through `serve` as well.
   */
  private connectDirect(client: Peer, target: HostPort, tracker: ConnectionTracker): void {
    const release = this.connectSlots.tryAcquire();
    if (release === null) {
      void this.serve(client, tracker);
      return;
    }
    const socket = client.socket;
    const reader = new SocketReader();
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, onread: reader.onread });
    const settle = (): void => {
      release();
      clearTimeout(timer);
      this.directConnects.delete(sendBack);
      socket.off('close', onGone);
      upstream.off('connect', onConnect);
      upstream.off('error', onError);
    };
    const onConnect = (): void => {
      settle();
      this.forward(client, { socket: upstream, reader }, tracker, target);
    };
    const onGone = (): void => {
      settle();
      upstream.destroy();
      tracker.closed();
    };
    const sendBack = (): void => {
      settle();
      upstream.destroy();
      void this.serve(client, tracker);
    };
    const onError = (error: Error): void => {
      if (this.proven === target) {
        this.logger.debug(`upstream ${formatHostPort(target)} refused a connection (${describeError(error)}); trying it again with backoff`);
        this.proven = null;
      }
      sendBack();
    };
    const timer = setTimeout(() => {
      onError(new Error(`connect timed out after ${MAX_ATTEMPT_MS}ms`));
    }, MAX_ATTEMPT_MS);
    this.directConnects.add(sendBack);
    socket.once('close', onGone);
    upstream.once('connect', onConnect);
    upstream.once('error', onError);
  }

  private forward(client: Peer, upstream: Peer, tracker: ConnectionTracker, target: HostPort): void {
    if (isGone(client.socket)) {
      upstream.socket.destroy();
      tracker.closed();
      return;
    }
    if (this.logger.enabled('debug')) this.logger.debug(`forwarding ${peerOf(client.socket)} to ${formatHostPort(target)}`);
    splice(client, upstream, tracker);
  }

  /** Holds the connection until the group runs; false when it was refused for want of a place. */
  private async holdUntilRunning(client: Socket): Promise<boolean> {
    const { holdLimit } = this.deps;
    if (!holdLimit.take()) {
      this.refuse(client);
      return false;
    }
    if (this.logger.enabled('debug')) this.logger.debug(`holding connection from ${peerOf(client)} while the group is ${this.group.state}`);
    // The reason is read only by the wake this connection starts; others wait for one under way.
    const held = this.group.hold(this.group.state === 'Idle' ? `connection from ${peerOf(client)} on port ${this.port}` : 'connection');
    const leave = (): void => {
      held.cancel(new ClientGoneError());
    };
    client.once('close', leave);
    try {
      await held.promise;
      return true;
    } finally {
      holdLimit.release();
      client.off('close', leave);
    }
  }

  /**
   * Connects to the upstream for as long as the group stays Running; null when
   * it stops meanwhile, so the connection is held for the next wake instead of
   * retrying against an upstream that is gone. An AbortController only from
   * here on: while held, a connection costs as little as it can.
   */
  private async connectWhileRunning(deadline: number, client: Socket): Promise<(UpstreamConnection & { target: HostPort }) | null> {
    const gone = new AbortController();
    const onGone = (): void => {
      gone.abort(new ClientGoneError());
    };
    client.once('close', onGone);
    const running = this.running.signal;
    try {
      return await this.connectUpstream(deadline, AbortSignal.any([gone.signal, running]));
    } catch (error) {
      if (running.aborted && !gone.signal.aborted) return null;
      throw error;
    } finally {
      client.off('close', onGone);
    }
  }

  /** Resolves the upstream once per wake; a failure is forgotten, so the next connection asks again. */
  private resolveUpstream(signal: AbortSignal): Promise<HostPort> {
    if (this.resolved === null) {
      const resolving = this.upstream.resolve(signal);
      this.resolved = resolving;
      resolving.catch(() => {
        if (this.resolved === resolving) this.resolved = null;
      });
    }
    return this.resolved;
  }

  /** The first connect after a wake retries with backoff; later ones wait for it, then connect directly. */
  private async connectUpstream(deadline: number, signal: AbortSignal): Promise<UpstreamConnection & { target: HostPort }> {
    const options = { deadline, clock: this.deps.clock, signal };
    while (this.proven === null && this.pilot !== null) {
      const pilot = this.pilot;
      const turn: Promise<void> = abortable(signal, (resolve) => {
        void pilot.then(resolve);
        return undefined;
      });
      await turn;
    }
    const proven = this.proven;
    if (proven !== null) return { ...(await this.connect(proven, options)), target: proven };
    const target = await this.resolveUpstream(signal).catch((error: unknown) => {
      throw this.problem(error, signal);
    });
    if (reachesListener(target, { port: this.port, bind: this.spec.bind })) {
      throw this.problem(new Error(`upstream ${formatHostPort(target)} is this listener itself; give the member another port, or --bind the proxy to another address`), signal);
    }
    let done = (): void => undefined;
    this.pilot = new Promise<void>((resolve) => (done = resolve));
    try {
      const connection = await this.connect(target, options);
      // The address it reached, so that later connections need no name lookup until the group stops.
      const { remoteAddress, remotePort } = connection.socket;
      if (this.group.state === 'Running') this.proven = { host: remoteAddress ?? target.host, port: remotePort ?? target.port };
      this.problems.clear();
      return { ...connection, target };
    } catch (error) {
      throw this.problem(error, signal);
    } finally {
      this.pilot = null;
      done();
    }
  }

  /** Reports why a connect failed, unless it was called off (the client left, the group stopped); returns the error to throw. */
  private problem(error: unknown, signal: AbortSignal): unknown {
    if (!signal.aborted) this.problems.report(upstreamProblem(error, this.upstream.description));
    return error;
  }

  private async connect(target: HostPort, options: Parameters<typeof connectWithRetry>[1]): Promise<UpstreamConnection> {
    const release = await this.connectSlots.acquire(options.signal);
    try {
      return await connectWithRetry(target, options);
    } finally {
      release();
    }
  }

  private refuse(client: Socket): void {
    client.destroy();
    this.refusals.add();
  }
}
