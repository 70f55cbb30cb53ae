import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort, type HostPort, reachesListener } from './address.js';
import type { Clock } from './clock.js';
import { describeError, errorCode, UserError } from './errors.js';
import type { Group } from './group.js';
import type { HoldLimit } from './hold-limit.js';
import type { Logger } from './logger.js';
import { Semaphore } from './semaphore.js';
import { splice } from './splice.js';
import { connectWithRetry, type UpstreamConnection } from './upstream.js';

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
}

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
  return formatHostPort({ host: remoteAddress.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'), port: remotePort });
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

/**
 * Owns one listening port of a group. Each connection is held (its bytes left
 * unread) until the group is Running, then connected to the upstream and
 * spliced. After a wake, one connection at a time probes the upstream with
 * its real connect; the rest follow once it has been accepted, so a burst does
 * not hammer an upstream that is still coming up.
 */
export class Listener {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly emptied: (() => void)[] = [];
  private readonly logger: Logger;
  private upstream: UpstreamSource;
  /** The upstream as resolved for the current wake; forgotten when the group leaves Running. */
  private resolved: Promise<HostPort> | null = null;
  private upstreamProven = false;
  private boundPort: number;
  private pilot: Promise<void> | null = null;
  private readonly connectSlots = new Semaphore(UPSTREAM_CONNECTS_IN_FLIGHT);
  /** Aborted whenever the group leaves Running; a fresh one each time it runs again. */
  private running = new AbortController();
  private refused = 0;
  private lastRefusalLog = -Infinity;
  private readonly stopWatchingGroup: () => void;

  constructor(
    readonly spec: ListenerSpec,
    readonly group: Group,
    private readonly deps: ListenerDeps,
  ) {
    this.logger = deps.logger.child(group.name);
    this.upstream = spec.upstream;
    this.boundPort = spec.port;
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.accept(socket);
    });
    this.stopWatchingGroup = group.onStateChange((state) => {
      if (state === 'Running') {
        if (this.running.signal.aborted) this.running = new AbortController();
      } else {
        this.running.abort(new Error(`the group is ${state}`));
        this.forgetUpstream();
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

  /** Forwards new connections somewhere else from now on; open ones stay where they are. */
  setUpstream(upstream: UpstreamSource): void {
    if (upstream.description === this.upstream.description) return;
    this.upstream = upstream;
    this.forgetUpstream();
    this.logger.info(`port ${this.port} now forwards to ${upstream.description}`);
  }

  private forgetUpstream(): void {
    this.resolved = null;
    this.upstreamProven = false;
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
    // Accept errors (EMFILE and the like) are reported; the listener stays open.
    this.server.on('error', (error) => {
      this.logger.error(`listener on port ${this.port}: ${describeError(error)}`);
    });
    const where = this.spec.bind === undefined ? `port ${this.port} (all interfaces)` : formatHostPort({ host: this.spec.bind, port: this.port });
    this.logger.info(`listening on ${where}, forwarding to ${this.upstream.description}`);
  }

  /** Stops accepting; connections already here are left to `drain`. */
  stopAccepting(): void {
    this.stopWatchingGroup();
    if (this.server.listening) this.server.close();
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
  }

  private whenEmpty(): Promise<void> {
    if (this.clients.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.on('error', (error) => {
      this.logger.debug(`connection from ${peerOf(client)}: ${describeError(error)}`);
    });
    client.once('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) for (const resolve of this.emptied.splice(0)) resolve();
    });
    void this.serve(client);
  }

  private async serve(client: Socket): Promise<void> {
    const { clock } = this.deps;
    const deadline = clock.now() + this.group.settings.startTimeoutMs;
    const tracker = this.group.track(() => client.destroy(), () => peerOf(client));
    try {
      for (;;) {
        if (this.group.state !== 'Running' && !(await this.holdUntilRunning(client))) return;
        if (isGone(client)) return;
        const upstream = await this.connectWhileRunning(deadline, client);
        // The group stopped while this connection was connecting: hold it again, unless the failed wake closed it.
        if (upstream === null) {
          if (isGone(client)) return;
          continue;
        }
        if (isGone(client)) {
          upstream.socket.destroy();
          return;
        }
        if (this.logger.enabled('debug')) this.logger.debug(`forwarding ${peerOf(client)} to ${formatHostPort(upstream.target)}`);
        splice(client, upstream, tracker);
        return;
      }
    } catch (error) {
      if (!(error instanceof ClientGoneError) && this.logger.enabled('debug')) this.logger.debug(`closing connection from ${peerOf(client)}: ${describeError(error)}`);
      client.destroy();
    } finally {
      if (client.destroyed) tracker.closed();
    }
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
    while (!this.upstreamProven && this.pilot !== null) {
      await abortable(this.pilot, signal);
    }
    const target = await this.resolveUpstream(signal);
    if (reachesListener(target, { port: this.port, bind: this.spec.bind })) {
      throw new Error(`upstream ${formatHostPort(target)} is this listener itself; give the member another port, or --bind the proxy to another address`);
    }
    if (this.upstreamProven) return { ...(await this.connect(target, options)), target };
    let done = (): void => undefined;
    this.pilot = new Promise<void>((resolve) => (done = resolve));
    try {
      const connection = await this.connect(target, options);
      this.upstreamProven = this.group.state === 'Running';
      return { ...connection, target };
    } catch (error) {
      if (!signal.aborted) this.logger.warn(describeError(error));
      throw error;
    } finally {
      this.pilot = null;
      done();
    }
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
    this.refused++;
    const now = this.deps.clock.now();
    if (now - this.lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.logger.warn(
        `refused ${this.refused} connection(s) on port ${this.port}: ${this.deps.holdLimit.max} connections are already held waiting for a wake (raise --max-held to allow more)`,
      );
      this.refused = 0;
      this.lastRefusalLog = now;
    }
  }
}

/** Waits for `promise`, or rejects as soon as `signal` aborts. */
function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
