import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort, type HostPort } from './address.js';
import type { Clock } from './clock.js';
import { describeError, errorCode, UserError } from './errors.js';
import type { Group } from './group.js';
import type { HoldLimit } from './hold-limit.js';
import type { Logger } from './logger.js';
import { splice } from './splice.js';
import { connectWithRetry } from './upstream.js';

export interface ListenerSpec {
  readonly port: number;
  /** Address to bind; undefined binds every interface, IPv6 and IPv4 where the host has both. */
  readonly bind: string | undefined;
  readonly upstream: HostPort;
}

export interface ListenerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly holdLimit: HoldLimit;
}

const REFUSAL_LOG_INTERVAL_MS = 5000;

function peerOf(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return 'a closed socket';
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; show them as people know them.
  return formatHostPort({ host: remoteAddress.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'), port: remotePort });
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
  private readonly logger: Logger;
  private upstreamProven = false;
  private pilot: Promise<void> | null = null;
  private refused = 0;
  private lastRefusalLog = -Infinity;
  private readonly stopWatchingGroup: () => void;

  constructor(
    readonly spec: ListenerSpec,
    readonly group: Group,
    private readonly deps: ListenerDeps,
  ) {
    this.logger = deps.logger.child(group.name);
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.accept(socket);
    });
    this.stopWatchingGroup = group.onStateChange((state) => {
      if (state !== 'Running') this.upstreamProven = false;
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.spec.port;
  }

  get connections(): number {
    return this.clients.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(listenError(error, this.spec));
      };
      this.server.once('error', onError);
      this.server.listen({ port: this.spec.port, host: this.spec.bind }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    // Accept errors (EMFILE and the like) are reported; the listener stays open.
    this.server.on('error', (error) => {
      this.logger.error(`listener on port ${this.port}: ${describeError(error)}`);
    });
    const where = this.spec.bind === undefined ? `port ${this.port} (all interfaces)` : formatHostPort({ host: this.spec.bind, port: this.port });
    this.logger.info(`listening on ${where}, forwarding to ${formatHostPort(this.spec.upstream)}`);
  }

  /** Stops accepting; connections already here are left to `drain`. */
  stopAccepting(): void {
    this.stopWatchingGroup();
    if (this.server.listening) this.server.close();
  }

  /** Waits up to `graceMs` for open connections to finish, then closes what is left. */
  async drain(graceMs: number): Promise<void> {
    if (this.clients.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const check = (): void => {
          if (this.clients.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
        for (const client of this.clients) client.once('close', check);
      });
    }
    for (const client of this.clients) client.destroy();
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.on('error', (error) => {
      this.logger.debug(`connection from ${peerOf(client)}: ${describeError(error)}`);
    });
    client.once('close', () => this.clients.delete(client));
    void this.serve(client);
  }

  private async serve(client: Socket): Promise<void> {
    const { clock, holdLimit } = this.deps;
    const peer = peerOf(client);
    const deadline = clock.now() + this.group.snapshot().settings.startTimeoutMs;
    const tracker = this.group.track();
    const gone = new AbortController();
    const onGone = (): void => {
      gone.abort(new Error('the client closed the connection'));
    };
    client.once('close', onGone);
    try {
      if (this.group.state !== 'Running') {
        if (!holdLimit.take()) {
          this.refuse(client);
          return;
        }
        this.logger.debug(`holding connection from ${peer} while the group is ${this.group.state}`);
        try {
          await this.group.acquire(`connection from ${peer} on port ${this.port}`, gone.signal);
        } finally {
          holdLimit.release();
        }
      }
      const upstream = await this.connectUpstream(deadline, gone.signal);
      client.off('close', onGone);
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.logger.debug(`forwarding ${peer} to ${formatHostPort(this.spec.upstream)}`);
      splice(client, upstream, tracker);
    } catch (error) {
      if (!gone.signal.aborted) this.logger.debug(`closing connection from ${peer}: ${describeError(error)}`);
      client.destroy();
    } finally {
      client.off('close', onGone);
      if (client.destroyed) tracker.closed();
    }
  }

  /** The first connect after a wake retries with backoff; later ones wait for it, then connect directly. */
  private async connectUpstream(deadline: number, signal: AbortSignal): Promise<Socket> {
    const options = { deadline, clock: this.deps.clock, signal };
    while (!this.upstreamProven && this.pilot !== null) {
      await abortable(this.pilot, signal);
    }
    if (this.upstreamProven) return connectWithRetry(this.spec.upstream, options);
    let done = (): void => undefined;
    this.pilot = new Promise<void>((resolve) => (done = resolve));
    try {
      const socket = await connectWithRetry(this.spec.upstream, options);
      this.upstreamProven = this.group.state === 'Running';
      return socket;
    } catch (error) {
      if (!signal.aborted) this.logger.warn(describeError(error));
      throw error;
    } finally {
      this.pilot = null;
      done();
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
