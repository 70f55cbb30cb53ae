import { connect, type Socket } from 'node:net';
import { abortable, whenAborted } from './abortable.js';
import { formatHostPort, type HostPort, reachesListener } from './address.js';
import type { Clock } from './clock.js';
import { describeError } from './errors.js';
import { formatDuration } from './duration.js';
import { readFirstBytes } from './first-bytes.js';
import { type ConnectionTracker, type Group, type TurnedAway, WakeError } from './group.js';
import { ThrottledReport } from './throttled-report.js';
import { upstreamProblem, UpstreamProblemReport } from './upstream-problem.js';
import type { HoldLimit } from './hold-limit.js';
import type { Logger } from './logger.js';
import { peerOf } from './peer-of.js';
import { Semaphore } from './semaphore.js';
import { type Peer, SocketReader } from './socket-reader.js';
import { splice } from './splice.js';
import { connectWithRetry, MAX_ATTEMPT_MS, type UpstreamConnection } from './upstream.js';
import type { UpstreamSource } from './upstream-source.js';

export interface ForwarderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly holdLimit: HoldLimit;
  /** The port it serves and the address bound, read at each use (port 0 is known only once bound). */
  readonly where: () => { readonly port: number; readonly bind: string | undefined };
  /** Closes a connection for want of a place to hold it, and reports it (the port's throttled refusal). */
  readonly refuse: (client: Socket) => void;
}

/**
 * A connection's own bound on the wait for its upstream (hold, wake and
 * connect together), shorter than the wake's: a Minecraft client gives up
 * after about 30 s, so it is told to come back instead (issue 16). The wake
 * itself goes on for whoever comes next.
 */
export interface HoldBound {
  readonly ms: number;
  /** Answers the client instead of closing it silently: the bound passed or the upstream did not answer in time (`timeout`), or the wake failed (`failed`). */
  readonly onGiveUp: (client: Socket, why: 'timeout' | 'failed') => void;
}

/**
 * Upstream connects in flight at once. When a wake releases thousands of held
 * connections together, connecting them all at once would overflow the
 * upstream's own accept queue (often 128 to 511) and cost each overflowed
 * connect a one-second SYN retry.
 */
const UPSTREAM_CONNECTS_IN_FLIGHT = 128;
const TURNED_AWAY_LOG_INTERVAL_MS = 5000;

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

/** The connection's own hold bound passed (HoldBound); it was answered and closed. */
class HoldBoundError extends Error {
  constructor(ms: number) {
    super(`the group was not ready within this connection's ${ms}ms`);
    this.name = 'HoldBoundError';
  }
}

/**
 * One group's side of a port: each connection handed to it is held (what it
 * sends left unread beyond its first 64 KiB) until the group is Running, then
 * connected to the upstream and spliced. After a wake, one connection at a
 * time probes the upstream with its real connect; the rest follow once it has
 * been accepted, so a burst does not hammer an upstream that is still coming
 * up. From then on, while the group stays Running, a new connection takes the
 * direct path: a plain connect to the address that accepted, then the splice.
 * The port itself (server, accept, refusals, drain) is the Listener's.
 */
export class GroupForwarder {
  private readonly logger: Logger;
  private upstream: UpstreamSource;
  /** The upstream as resolved for the current wake; forgotten when the group leaves Running. */
  private resolved: Promise<HostPort> | null = null;
  /** The address the upstream accepted a connection on since the wake; null until then, and once the group leaves Running. */
  private proven: HostPort | null = null;
  private pilot: Promise<void> | null = null;
  private readonly connectSlots = new Semaphore(UPSTREAM_CONNECTS_IN_FLIGHT);
  /** Aborted whenever the group leaves Running; a fresh one each time it runs again. */
  private running = new AbortController();
  /** Direct connects under way, each with what sends it back to wait: the group left Running. */
  private readonly directConnects = new Set<() => void>();
  private readonly stopWatchingGroup: () => void;
  /** Connections the wake rules closed, logged at most every few seconds per rule (a scan may bring thousands). */
  private readonly turnedAway: Record<Exclude<TurnedAway, 'silent'>, ThrottledReport>;
  /** Why connections to the upstream fail, when it is something to fix: warned once per cause, shown in status. */
  private readonly problems: UpstreamProblemReport;

  constructor(
    readonly group: Group,
    upstream: UpstreamSource,
    private readonly deps: ForwarderDeps,
  ) {
    this.logger = deps.logger.child(group.name);
    this.upstream = upstream;
    this.problems = new UpstreamProblemReport(this.logger);
    // The rule is read when the line is written: labels may change the networks meanwhile.
    const report = (rule: () => string): ThrottledReport =>
      new ThrottledReport(deps.clock, TURNED_AWAY_LOG_INTERVAL_MS, (count) => {
        this.logger.info(`closed ${count} connection(s) on port ${this.port} from clients outside ${rule()}`);
      });
    this.turnedAway = {
      notAllowed: report(() => `allow-from ${group.settings.allowFrom?.text ?? ''}`),
      outsideWakeFrom: report(() => `wake-from ${group.settings.wakeFrom?.text ?? ''}, while the group sleeps`),
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

  get upstreamDescription(): string {
    return this.upstream.description;
  }

  /** What stops connections from reaching the upstream, until one gets through; null when nothing is known to. */
  get upstreamProblem(): string | null {
    return this.problems.current;
  }

  private get port(): number {
    return this.deps.where().port;
  }

  /** Forwards new connections somewhere else from now on; open ones stay where they are. */
  setUpstream(upstream: UpstreamSource): void {
    if (upstream.description === this.upstream.description) return;
    this.upstream = upstream;
    this.forgetUpstream();
    this.problems.clear();
    this.logger.info(`port ${this.port} now forwards to ${upstream.description}`);
  }

  /** Stops following the group; connections already handed over carry on. */
  close(): void {
    this.stopWatchingGroup();
    for (const report of Object.values(this.turnedAway)) report.close();
  }

  private forgetUpstream(): void {
    this.resolved = null;
    this.proven = null;
  }

  /**
   * Takes an accepted connection: closed if its client is outside
   * --allow-from; the direct path while the group runs with a proven
   * upstream; the wake rules while it sleeps; else hold, wake, connect.
   */
  handle(client: Peer, bound?: HoldBound): void {
    const socket = client.socket;
    const { allowFrom, wakeFrom, wakeOn } = this.group.settings;
    if (allowFrom !== null && !allowFrom.has(socket.remoteAddress)) {
      this.turnAway(socket, 'notAllowed');
      return;
    }
    const proven = this.proven;
    if (proven !== null && this.group.state === 'Running') this.connectDirect(client, proven, this.track(socket));
    else if (this.group.asleep && (wakeFrom !== null || wakeOn === 'data')) void this.admit(client, bound);
    else void this.serve(client, this.track(socket), bound);
  }

  private track(socket: Socket): ConnectionTracker {
    return this.group.track(() => socket.destroy(), () => peerOf(socket));
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
   * activity. What it sent is forwarded first, as for any held connection
   * (bytes a shared port read to route it count too: see withPrefix).
   */
  private async admit(accepted: Peer, bound: HoldBound | undefined): Promise<void> {
    const { socket } = accepted;
    const { wakeFrom, wakeOn, wakeMinBytes, startTimeoutMs } = this.group.settings;
    if (wakeFrom !== null && !wakeFrom.has(socket.remoteAddress)) {
      this.turnAway(socket, 'outsideWakeFrom');
      return;
    }
    let client = accepted;
    if (wakeOn === 'data') {
      // Waiting for its bytes, it holds a place like a held connection: a flood of silent ones is bounded by --max-held too.
      const { holdLimit } = this.deps;
      if (!holdLimit.take()) {
        this.deps.refuse(socket);
        return;
      }
      const first = await readFirstBytes(accepted, { enough: (bytes) => bytes.length >= wakeMinBytes, limit: wakeMinBytes, timeoutMs: startTimeoutMs, clock: this.deps.clock }).finally(() => {
        holdLimit.release();
      });
      if (first.end === 'closed') return;
      // Woken meanwhile by another client: an awake group serves everyone.
      if (first.bytes.length < wakeMinBytes && this.group.asleep) {
        if (this.logger.enabled('debug')) {
          const why = first.end === 'ended' ? 'before it closed its side' : `within the start timeout (${formatDuration(startTimeoutMs)})`;
          this.logger.debug(`closing connection from ${peerOf(socket)} without waking the group: it sent ${first.bytes.length} of the ${wakeMinBytes} byte(s) --wake-on data asks for ${why}`);
        }
        this.turnAway(socket, 'silent');
        return;
      }
      client = first.client;
    }
    void this.serve(client, this.track(socket), bound);
  }

  private async serve(client: Peer, tracker: ConnectionTracker, bound?: HoldBound): Promise<void> {
    const socket = client.socket;
    const giveUp = bound === undefined ? undefined : new AbortController();
    const timer = bound === undefined ? null : this.deps.clock.setTimer(bound.ms, () => {
      giveUp?.abort(new HoldBoundError(bound.ms));
    });
    try {
      for (;;) {
        if (this.group.state !== 'Running' && !(await this.holdUntilRunning(socket, giveUp?.signal))) return;
        if (isGone(socket)) return;
        // The upstream gets the start timeout to accept, counted from each time the group is found Running:
        // a connection held again across a stop and a new wake does not inherit the first wake's deadline.
        const deadline = this.deps.clock.now() + this.group.settings.startTimeoutMs;
        const upstream = await this.connectWhileRunning(deadline, socket, giveUp?.signal);
        // The group stopped while this connection was connecting: hold it again, unless the failed wake closed it.
        if (upstream === null) {
          if (isGone(socket)) return;
          continue;
        }
        this.forward(client, upstream, tracker, upstream.target);
        return;
      }
    } catch (error) {
      if (bound !== undefined && !(error instanceof ClientGoneError)) {
        this.logger.debug(`answering ${peerOf(socket)} and closing: ${describeError(error)}`);
        // Only a failed wake is a failure to the player; a server that runs but does not listen yet is still starting.
        bound.onGiveUp(socket, error instanceof WakeError ? 'failed' : 'timeout');
        // Answered and ending: the connection counts until it has closed.
        if (!socket.destroyed) socket.once('close', () => {
          tracker.closed();
        });
      } else {
        if (!(error instanceof ClientGoneError) && this.logger.enabled('debug')) this.logger.debug(`closing connection from ${peerOf(socket)}: ${describeError(error)}`);
        socket.destroy();
      }
    } finally {
      timer?.cancel();
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
  private async holdUntilRunning(client: Socket, giveUp: AbortSignal | undefined): Promise<boolean> {
    const { holdLimit } = this.deps;
    if (!holdLimit.take()) {
      this.deps.refuse(client);
      return false;
    }
    if (this.logger.enabled('debug')) this.logger.debug(`holding connection from ${peerOf(client)} while the group is ${this.group.state}`);
    // The reason is read only by the wake this connection starts; others wait for one under way.
    const held = this.group.hold(this.group.state === 'Idle' ? `connection from ${peerOf(client)} on port ${this.port}` : 'connection');
    const leave = (): void => {
      held.cancel(new ClientGoneError());
    };
    client.once('close', leave);
    const stopWatching = whenAborted(giveUp, (reason) => {
      held.cancel(reason);
    });
    try {
      await held.promise;
      return true;
    } finally {
      stopWatching();
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
  private async connectWhileRunning(deadline: number, client: Socket, giveUp: AbortSignal | undefined): Promise<(UpstreamConnection & { target: HostPort }) | null> {
    const gone = new AbortController();
    const onGone = (): void => {
      gone.abort(new ClientGoneError());
    };
    client.once('close', onGone);
    const running = this.running.signal;
    try {
      return await this.connectUpstream(deadline, AbortSignal.any(giveUp === undefined ? [gone.signal, running] : [gone.signal, running, giveUp]));
    } catch (error) {
      if (giveUp?.aborted === true) throw giveUp.reason;
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
    if (reachesListener(target, this.deps.where())) {
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
}
