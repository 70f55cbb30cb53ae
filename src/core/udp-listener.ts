import type { RemoteInfo, Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { untilAborted } from './abortable.js';
import { formatHostPort, type HostPort, reachesListener } from './address.js';
import { type Clock, sleep, type Timer } from './clock.js';
import { formatDuration } from './duration.js';
import { describeError, errorCode } from './errors.js';
import { FlowTable } from './flow-table.js';
import type { Group, Hold, TurnedAway } from './group.js';
import type { HeldDatagram, HeldDatagrams, DatagramBudget } from './held-datagrams.js';
import type { HoldLimit } from './hold-limit.js';
import type { IcmpAllowance } from './icmp-allowance.js';
import type { ListenerSpec } from './listener.js';
import type { UpstreamSource } from './upstream-source.js';
import type { Logger } from './logger.js';
import { ThrottledReport } from './throttled-report.js';
import { FlowClosedError, type FlowHandlers, UdpFlow, type UdpTarget } from './udp-flow.js';
import { PROBE_QUIET_MS, probeDatagram } from './udp-probe.js';
import { bindUdpPort } from './udp-socket.js';
import { FIRST_RETRY_MS, MAX_RETRY_MS } from './upstream.js';

export interface UdpListenerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** A flow ends after this long without a datagram either way. */
  readonly flowTimeoutMs: number;
  /** Flows open at once, over every UDP listener of the process. */
  readonly flowLimit: HoldLimit;
  /** The group's bound on held datagrams, shared by its UDP listeners. */
  readonly budget: DatagramBudget;
  readonly icmp: IcmpAllowance;
}

/** A UDP listener's counts, for status. */
export interface UdpCounters {
  readonly flows: number;
  /** Datagrams held now, waiting for the group or the upstream. */
  readonly held: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Datagrams dropped since start: over a bound, a failed wake, an upstream that never took them. */
  readonly dropped: number;
}

const LOG_INTERVAL_MS = 5000;
/**
 * Held datagrams are replayed to the upstream at most this many per
 * millisecond. Sent at once, a thousand of them overflow the upstream's
 * socket buffer (212 KiB by default) before it reads them: measured, a Node
 * echo server kept 256 of 1,000 sent back to back, and all 3,000 at 32 per
 * millisecond.
 */
const FLUSH_BATCH = 16;
const FLUSH_PAUSE_MS = 1;

type Held = HeldDatagram<UdpFlow>;

function clientCount(entries: readonly Held[]): number {
  return new Set(entries.map((entry) => entry.flow)).size;
}

/**
 * Owns one UDP port of a group. A flow is one client address:port; it gets
 * its own upstream socket once the group runs. Datagrams that arrive before
 * then are held, per flow and in order, within the group's bound, and sent
 * first. After a wake, the oldest held datagram probes the upstream (running
 * is not listening: the kernel says ECONNREFUSED until something is), with
 * the same backoff as a TCP connect; the rest follow once it was taken.
 */
export class UdpListener {
  readonly protocol = 'udp' as const;
  private socket: Socket | null = null;
  private readonly flows = new FlowTable();
  private readonly held: HeldDatagrams<UdpFlow>;
  private readonly logger: Logger;
  private where: string;
  private upstream: UpstreamSource;
  private boundPort: number;
  private hold: Hold | null = null;
  /** Aborted whenever the group leaves Running; a fresh one each time it runs again. */
  private running = new AbortController();
  /** The upstream took a datagram since the group last became Running: flows send straight to it. */
  private proven = false;
  /** The upstream's addresses as looked up for this wake, IPv4 first; the one that took the probe becomes `target`. */
  private candidates: readonly UdpTarget[] | null = null;
  private target: UdpTarget | null = null;
  private delivering = false;
  private closed = false;
  private sweepTimer: Timer | null = null;
  private datagramsIn = 0;
  private datagramsOut = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private dropped = 0;
  private readonly overBound: ThrottledReport;
  private readonly overFlows: ThrottledReport;
  private readonly refusals: ThrottledReport;
  /** Datagrams the wake rules dropped: from outside --allow-from, or outside --wake-from while the group sleeps. */
  private readonly turnedAway: ThrottledReport;
  private readonly stopWatchingGroup: () => void;

  constructor(
    readonly spec: ListenerSpec,
    readonly group: Group,
    private readonly deps: UdpListenerDeps,
  ) {
    this.logger = deps.logger.child(group.name);
    this.upstream = spec.upstream;
    this.boundPort = spec.port;
    this.where = `port ${spec.port}/udp`;
    const { budget, clock } = deps;
    this.held = budget.queue<UdpFlow>(() => {
      this.dropped++;
      this.overBound.add();
    });
    this.overBound = new ThrottledReport(clock, LOG_INTERVAL_MS, (count) => {
      this.logger.warn(
        `dropped the oldest ${count} held datagram(s) on ${this.where}: the group holds at most ${budget.maxCount} datagram(s) and ${budget.maxBytes} bytes while it wakes (raise --max-held-datagrams or --max-held-bytes to allow more)`,
      );
    });
    this.overFlows = new ThrottledReport(clock, LOG_INTERVAL_MS, (count) => {
      this.logger.warn(`dropped ${count} datagram(s) from new clients on ${this.where}: ${deps.flowLimit.max} UDP flows are open (raise --max-flows to allow more)`);
    });
    this.refusals = new ThrottledReport(clock, LOG_INTERVAL_MS, (count) => {
      this.logger.warn(`upstream ${this.describeTarget()} refused ${count} datagram(s) on ${this.where}: nothing listens there (ICMP port unreachable)`);
    });
    this.turnedAway = new ThrottledReport(clock, LOG_INTERVAL_MS, (count) => {
      const { allowFrom, wakeFrom } = group.settings;
      const rules = [allowFrom === null ? '' : `allow-from ${allowFrom.text}`, wakeFrom === null ? '' : `wake-from ${wakeFrom.text} while the group sleeps`].filter((rule) => rule !== '');
      this.logger.info(`dropped ${count} datagram(s) on ${this.where} from clients outside ${rules.join(' or ')}`);
    });
    this.stopWatchingGroup = group.onStateChange((state) => {
      if (state === 'Running') {
        if (this.running.signal.aborted) this.running = new AbortController();
        void this.deliver();
      } else {
        this.leaveRunning(state);
      }
    });
  }

  /** The port listened on (the one asked for, or the one the system chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  get upstreamDescription(): string {
    return this.upstream.description;
  }

  /** Whether this listener waits on the group now (it counts as one of the group's held waiters). */
  get holding(): boolean {
    return this.hold !== null;
  }

  counters(): UdpCounters {
    return {
      flows: this.flows.size,
      held: this.held.length,
      datagramsIn: this.datagramsIn,
      datagramsOut: this.datagramsOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      dropped: this.dropped,
    };
  }

  /** Forwards new flows somewhere else from now on (the new upstream is probed first); open flows stay where they are. */
  setUpstream(upstream: UpstreamSource): void {
    if (upstream.description === this.upstream.description) return;
    this.upstream = upstream;
    this.forgetUpstream();
    this.logger.info(`${this.where} now forwards to ${upstream.description}`);
  }

  private forgetUpstream(): void {
    this.proven = false;
    this.candidates = null;
    this.target = null;
  }

  async listen(): Promise<void> {
    const { bind } = this.spec;
    const socket = await bindUdpPort(this.spec.port, bind);
    this.socket = socket;
    this.boundPort = socket.address().port;
    this.where = `port ${this.boundPort}/udp`;
    socket.on('message', (data, client) => {
      this.receive(data, client);
    });
    // Receive errors (ENOMEM and the like) are reported; the listener stays open.
    socket.on('error', (error) => {
      this.logger.error(`listener on ${this.where}: ${describeError(error)}`);
    });
    const where = bind === undefined ? `${this.where} (all interfaces)` : `${formatHostPort({ host: bind, port: this.boundPort })}/udp`;
    this.logger.info(`listening on ${where}, forwarding to ${this.upstream.description}`);
  }

  /**
   * Closes the port and every flow at once: UDP has no connection to finish,
   * and the port must be free for whoever takes it next. Held datagrams are dropped.
   */
  stopAccepting(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchingGroup();
    this.running.abort(new Error('the listener is closing'));
    this.hold?.cancel(new Error('the listener is closing'));
    this.hold = null;
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
    const dropped = this.held.close();
    this.dropped += dropped.length;
    if (dropped.length > 0) this.logger.info(`dropped ${dropped.length} held datagram(s) on ${this.where}: the listener is closing`);
    for (const flow of this.flows.all()) this.endFlow(flow);
    for (const report of [this.overBound, this.overFlows, this.refusals, this.turnedAway]) report.close();
    try {
      this.socket?.close();
    } catch {
      // Already closed.
    }
  }

  /** Nothing to wait for: stopAccepting has closed every flow. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** The hot path: one datagram from a client. */
  private receive(data: Buffer, client: RemoteInfo): void {
    const { wakeFrom } = this.group.settings;
    if (wakeFrom !== null && this.group.asleep && !wakeFrom.has(client.address)) {
      this.turnAway('outsideWakeFrom');
      return;
    }
    const flow = this.flows.get(client.address, client.port) ?? this.newFlow(client);
    if (flow === null) return;
    this.datagramsIn++;
    this.bytesIn += data.length;
    flow.lastActivity = this.deps.clock.now();
    this.group.touch();
    if (flow.open) {
      (flow.socket as Socket).send(data);
      return;
    }
    this.held.add(flow, data, flow.lastActivity);
    if (this.group.state !== 'Running') this.holdGroup(flow);
    else {
      if (this.proven && !flow.connected) void this.connectFlow(flow);
      if (!this.delivering) void this.deliver();
    }
  }

  /** A reply from the upstream, back to the flow's client. */
  private reply(flow: UdpFlow, data: Buffer): void {
    this.datagramsOut++;
    this.bytesOut += data.length;
    flow.lastActivity = this.deps.clock.now();
    this.group.touch();
    this.socket?.send(data, flow.port, flow.address);
  }

  private turnAway(why: TurnedAway): void {
    this.dropped++;
    this.group.turnedAway(why);
    this.turnedAway.add();
  }

  private newFlow(client: RemoteInfo): UdpFlow | null {
    if (this.closed) return null;
    const { allowFrom } = this.group.settings;
    if (allowFrom !== null && !allowFrom.has(client.address)) {
      this.turnAway('notAllowed');
      return null;
    }
    if (!this.deps.flowLimit.take()) {
      this.dropped++;
      this.overFlows.add();
      return null;
    }
    const flow = new UdpFlow(client.address, client.port, this.deps.clock.now());
    this.flows.add(flow);
    if (this.logger.enabled('debug')) this.logger.debug(`new UDP flow from ${flow.peer} on ${this.where}`);
    this.armSweep();
    return flow;
  }

  private endFlow(flow: UdpFlow): void {
    if (!this.flows.delete(flow)) return;
    this.deps.flowLimit.release();
    flow.closeSocket();
  }

  /** Ends flows silent for the flow timeout, checking a few times per timeout; a flow with datagrams held is waiting, not silent. */
  private armSweep(): void {
    if (this.sweepTimer !== null || this.flows.size === 0 || this.closed) return;
    const every = Math.max(10, Math.min(1000, this.deps.flowTimeoutMs / 4));
    this.sweepTimer = this.deps.clock.setTimer(every, () => {
      this.sweepTimer = null;
      this.sweep();
      this.armSweep();
    });
  }

  private sweep(): void {
    const now = this.deps.clock.now();
    const timeout = this.deps.flowTimeoutMs;
    let ended = 0;
    for (const flow of this.flows.all()) {
      if (flow.held === 0 && now - flow.lastActivity >= timeout) {
        this.endFlow(flow);
        ended++;
      }
    }
    if (ended > 0 && this.logger.enabled('debug')) this.logger.debug(`${ended} UDP flow(s) on ${this.where} ended after ${formatDuration(timeout)} without a datagram; their upstream sockets are closed`);
  }

  /** Waits for the group to run, waking it; one wait per listener however many datagrams are held. */
  private holdGroup(flow: UdpFlow): void {
    if (this.hold !== null || this.closed) return;
    // The reason is read only by the wake this hold starts.
    const hold = this.group.hold(this.group.state === 'Idle' ? `datagram from ${flow.peer} on ${this.where}` : 'datagram');
    this.hold = hold;
    hold.promise.then(
      () => {
        if (this.hold === hold) this.hold = null;
        void this.deliver();
      },
      (error: unknown) => {
        if (this.hold !== hold) return;
        this.hold = null;
        this.drop(() => true, describeError(error), 'warn');
      },
    );
  }

  /**
   * Sends what is held while the group runs: the probe first, until the
   * upstream takes a datagram, then the rest, paced. One loop at a time.
   */
  private async deliver(): Promise<void> {
    if (this.delivering || this.closed) return;
    if (this.group.state !== 'Running') {
      const head = this.held.peek();
      if (head !== undefined) this.holdGroup(head.flow);
      return;
    }
    this.delivering = true;
    const signal = this.running.signal;
    try {
      while (!signal.aborted && this.held.length > 0) {
        if (this.proven) await this.flush(signal);
        else await this.prove(signal);
      }
    } catch (error) {
      if (!signal.aborted) this.logger.error(`internal error delivering datagrams on ${this.where} (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      this.delivering = false;
    }
    // The group stopped meanwhile (the datagrams wait for the next wake), or runs again already.
    if (signal.aborted && this.held.length > 0) void this.deliver();
  }

  /**
   * The upstream's addresses for this wake: its name looked up once, so that
   * every flow reaches the same address. A name with several (localhost:
   * 127.0.0.1 and ::1) is probed at each in turn, IPv4 first, as a TCP connect
   * tries each; the one that takes the probe is used.
   */
  private async resolveCandidates(signal: AbortSignal): Promise<readonly UdpTarget[]> {
    if (this.candidates !== null) return this.candidates;
    const upstream: HostPort = await this.upstream.resolve(signal);
    if (reachesListener(upstream, { port: this.port, bind: this.spec.bind })) {
      throw new LoopError(`upstream ${formatHostPort(upstream)} is this listener itself; give the member another port, or --bind the proxy to another address`);
    }
    const found = await untilAborted(lookup(upstream.host, { all: true, order: 'ipv4first' }), signal);
    const candidates = found.map(({ address, family }): UdpTarget => ({ address, family: family === 6 ? 6 : 4, port: upstream.port }));
    if (candidates.length === 0) throw new Error(`${upstream.host} has no address`);
    if (!signal.aborted) this.candidates = candidates;
    return candidates;
  }

  private describeTarget(): string {
    return this.target === null ? this.upstream.description : formatHostPort({ host: this.target.address, port: this.target.port });
  }

  /**
   * Sends the oldest held datagram until the upstream takes it: a reply, or
   * no refusal within PROBE_QUIET_MS. A refusal (nothing listens yet) is
   * retried with the TCP connect's backoff, and never before the upstream
   * could refuse again (see IcmpAllowance): silence must mean taken. Datagrams
   * held for longer than the start timeout are dropped meanwhile.
   */
  private async prove(signal: AbortSignal): Promise<void> {
    const { clock, icmp } = this.deps;
    let delay = FIRST_RETRY_MS;
    let attempts = 0;
    let last = 'no attempt yet';
    for (;;) {
      this.expire(attempts, last);
      const head = this.held.peek();
      if (head === undefined) return;
      let target: UdpTarget | null = null;
      try {
        const candidates = await this.resolveCandidates(signal);
        target = candidates[attempts % candidates.length] ?? null;
        if (target === null) throw new Error('the upstream has no address');
        const wait = icmp.waitMs(target.address);
        if (wait > 0) {
          this.group.touch(); // delivering held datagrams is activity, as a connect under way is for TCP
          await sleep(clock, wait, signal);
          continue;
        }
        const socket = await head.flow.connect(target, this.handlersFor(head.flow));
        if (this.held.peek() !== head) continue; // the bound dropped it meanwhile: probe with the next
        attempts++;
        this.group.touch();
        const verdict = await probeDatagram(socket, head.data, { quietMs: PROBE_QUIET_MS, signal });
        // Taken, and sent: off the hold (unless the bound dropped it while it was on its way).
        if (this.held.peek() === head) this.held.shift();
        if (this.candidates !== candidates) continue; // the upstream changed meanwhile: the next datagram probes the new one
        this.target = target;
        this.proven = true;
        this.group.reached(); // the wake has proven itself, as a TCP connection getting through does
        this.openIfDone(head.flow);
        if (this.logger.enabled('debug')) {
          this.logger.debug(`upstream ${this.describeTarget()} took a datagram on ${this.where} after ${attempts} attempt(s) (${verdict === 'replied' ? 'it replied' : 'no refusal'})`);
        }
        for (const flow of this.flows.all()) if (flow.held > 0 && !flow.connected) void this.connectFlow(flow);
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof LoopError) {
          this.drop(() => true, error.message, 'error');
          return;
        }
        if (error instanceof FlowClosedError) continue;
        if (errorCode(error) === 'ECONNREFUSED') {
          if (target !== null) icmp.spend(target.address);
          last = 'nothing listens there yet (ICMP port unreachable)';
        } else {
          last = describeError(error);
        }
      }
      this.group.touch();
      await sleep(clock, delay, signal);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  /** Drops what has been held longer than the start timeout: its client has long given up. */
  private expire(attempts: number, last: string): void {
    const cutoff = this.deps.clock.now() - this.group.settings.startTimeoutMs;
    const head = this.held.peek();
    if (head === undefined || head.at > cutoff) return;
    this.drop(
      (entry) => entry.at <= cutoff,
      `held for more than the start timeout (${formatDuration(this.group.settings.startTimeoutMs)}): upstream ${this.describeTarget()} did not take them (${attempts} attempt(s); last: ${last})`,
      'warn',
    );
  }

  /** Sends held datagrams in order, FLUSH_BATCH at a time, pausing between batches. */
  private async flush(signal: AbortSignal): Promise<void> {
    let sent = 0;
    while (sent < FLUSH_BATCH) {
      const head = this.held.peek();
      if (head === undefined) return;
      const { flow } = head;
      if (flow.socket === null) {
        try {
          await untilAborted(this.connectFlow(flow), signal);
        } catch (error) {
          if (signal.aborted) throw error;
          if (!(error instanceof FlowClosedError)) this.failFlow(flow, error);
        }
        continue;
      }
      this.held.shift();
      flow.socket.send(head.data);
      sent++;
      this.openIfDone(flow);
    }
    if (this.held.length > 0) await sleep(this.deps.clock, FLUSH_PAUSE_MS, signal);
  }

  private connectFlow(flow: UdpFlow): Promise<Socket> {
    const { target } = this;
    if (target === null) return Promise.reject(new Error('the upstream is not resolved yet'));
    const connecting = flow.connect(target, this.handlersFor(flow));
    connecting.then(
      () => {
        this.openIfDone(flow);
      },
      () => undefined, // the flush that waits for it reports the failure
    );
    return connecting;
  }

  /** A flow with nothing held any more sends straight to the upstream, once the upstream has taken a datagram. */
  private openIfDone(flow: UdpFlow): void {
    if (flow.held === 0 && flow.connected && this.proven) flow.open = true;
  }

  private handlersFor(flow: UdpFlow): FlowHandlers {
    return {
      onReply: (data) => {
        this.reply(flow, data);
      },
      onError: (error) => {
        // While probing, refusals are the probe's business; afterwards they mean the upstream went away.
        if (!this.proven) return;
        if (errorCode(error) === 'ECONNREFUSED') this.refusals.add();
        else if (this.logger.enabled('debug')) this.logger.debug(`UDP flow from ${flow.peer}: ${describeError(error)}`);
      },
    };
  }

  /** A flow whose upstream socket cannot be opened (out of file descriptors, say): its datagrams go, and so does it. */
  private failFlow(flow: UdpFlow, error: unknown): void {
    this.drop((entry) => entry.flow === flow, `cannot open an upstream socket for ${flow.peer}: ${describeError(error)}`, 'warn');
    this.endFlow(flow);
  }

  /** Drops held datagrams, saying why. */
  private drop(which: (entry: Held) => boolean, why: string, level: 'warn' | 'error'): void {
    const dropped = this.held.dropWhere(which);
    if (dropped.length === 0) return;
    this.dropped += dropped.length;
    this.logger[level](`dropped ${dropped.length} held datagram(s) from ${clientCount(dropped)} client(s) on ${this.where}: ${why}`);
  }

  /** The group stopped: upstream sockets belong to its run. A flow with nothing held ends; one with datagrams waits for the next wake. */
  private leaveRunning(state: string): void {
    this.running.abort(new Error(`the group is ${state}`));
    this.forgetUpstream();
    let closed = 0;
    for (const flow of this.flows.all()) {
      if (flow.connected) closed++;
      flow.closeSocket();
      if (flow.held === 0) this.endFlow(flow);
    }
    if (closed > 0) this.logger.info(`closing ${closed} UDP flow(s) on ${this.where}: the group is ${state}`);
  }
}

/** The upstream is the listener itself. */
class LoopError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoopError';
  }
}
