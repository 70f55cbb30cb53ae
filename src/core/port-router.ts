import type { Socket } from 'node:net';
import type { Clock } from './clock.js';
import { readFirstBytes } from './first-bytes.js';
import type { GroupForwarder } from './group-forwarder.js';
import type { Logger } from './logger.js';
import { answerStatus, loginHoldBound, minecraftStatus } from './minecraft-front.js';
import { peerOf } from './peer-of.js';
import { formatHostnamePattern } from './protocols/hostname-pattern.js';
import { HostnameTable } from './protocols/hostname-table.js';
import { badRequestResponse, misdirectedResponse } from './protocols/http-responses.js';
import { misdirectedHttp2Response } from './protocols/http2-responses.js';
import { encodeLegacyPingResponse } from './protocols/minecraft-legacy-ping.js';
import { type Sniffed, sniffProtocol } from './protocols/sniff-protocol.js';
import { SNIFF_LIMIT } from './protocols/sniff-limit.js';
import { unrecognizedNameAlert } from './protocols/tls-alert.js';
import type { Route } from './route.js';
import type { Peer } from './socket-reader.js';

/** What the first bytes said, once they said something. */
type Decided = Exclude<Sniffed, { kind: 'need-more' }>;

/** A route and the forwarder that serves it on this port. */
export interface RouteEntry {
  readonly route: Route;
  readonly forwarder: GroupForwarder;
}

/** Connections a shared port closed without waking anything, by why; and status pings it answered itself. */
export interface RoutingCounts {
  /** Named a host no group here answers to (TLS SNI, HTTP Host, :authority, Minecraft address). */
  unknownName: number;
  /** Named no host, and the port has no fallback group. */
  noName: number;
  /** Started like TLS, HTTP or Minecraft but broke off or broke the rules. */
  malformed: number;
  /** Spoke no protocol proxytainer reads, and the port has no fallback group. */
  unknownProtocol: number;
  /** Sent nothing before the deadline (a port scan, a server-speaks-first client). */
  silent: number;
  /** Minecraft status pings answered by proxytainer while the group was not running. */
  pingsAnswered: number;
}

/** How long a refused client may take to read its answer and close, before it is closed for it. */
const ANSWER_GRACE_MS = 5000;

/**
 * Sends a last answer and ends the connection. Not destroyed at once: bytes
 * the client sent that were never read would turn the close into a reset,
 * and a reset can reach the client before the answer it is meant to read.
 */
function answerAndClose(socket: Socket, answer: Buffer): void {
  socket.setTimeout(ANSWER_GRACE_MS, () => socket.destroy());
  socket.end(answer);
}

export function noRoutingCounts(): RoutingCounts {
  return { unknownName: 0, noName: 0, malformed: 0, unknownProtocol: 0, silent: 0, pingsAnswered: 0 };
}

/**
 * Which group each connection on a port goes to. With one route that names
 * no host and speaks no Minecraft, every connection goes straight to it and
 * nothing is read first: the fast path, exactly as before routing existed.
 * Otherwise the first bytes are read (at most SNIFF_LIMIT, until a deadline:
 * the longest start timeout among the port's groups), the name in them is
 * looked up, and the connection, its first bytes first, goes to that group.
 * A name no group claims goes to the fallback (the one route without names),
 * or is answered and closed, waking nothing.
 */
export class PortRouter {
  readonly counts: RoutingCounts = noRoutingCounts();
  private entries: readonly RouteEntry[] = [];
  private table = new HostnameTable<RouteEntry>();
  private fallback: RouteEntry | null = null;
  private minecraft = false;
  /** The only route, when nothing needs to be read to choose it. */
  direct: RouteEntry | null = null;

  constructor(private readonly deps: { readonly clock: Clock; readonly logger: Logger; readonly port: () => number }) {}

  /** Replaces the routes; the first claim of a name wins (callers list the oldest first). */
  set(entries: readonly RouteEntry[]): void {
    const table = new HostnameTable<RouteEntry>();
    let fallback: RouteEntry | null = null;
    for (const entry of entries) {
      if (entry.route.hostnames.length === 0) fallback ??= entry;
      for (const pattern of entry.route.hostnames) {
        const conflict = table.add(pattern, entry);
        if (conflict !== null) this.deps.logger.warn(`port ${this.deps.port()}: ${conflict.pattern} is claimed by groups ${conflict.kept.route.group.name} and ${conflict.refused.route.group.name}; ${conflict.kept.route.group.name} keeps it`);
      }
    }
    this.entries = entries;
    this.table = table;
    this.fallback = fallback;
    this.minecraft = entries.some((entry) => entry.route.minecraft !== null);
    const [only] = entries;
    this.direct = entries.length === 1 && only !== undefined && only.route.hostnames.length === 0 && only.route.minecraft === null ? only : null;
  }

  all(): readonly RouteEntry[] {
    return this.entries;
  }

  /** Whether connections are read before they are routed. */
  get sniffs(): boolean {
    return this.direct === null && this.entries.length > 0;
  }

  /** The names each group answers to here, as people write them. */
  namesOf(entry: RouteEntry): string[] {
    return entry.route.hostnames.map(formatHostnamePattern);
  }

  isFallback(entry: RouteEntry): boolean {
    return this.fallback === entry;
  }

  /** Reads the first bytes of `client`, then hands it to its group or answers and closes it. */
  async dispatch(client: Peer): Promise<void> {
    const { clock } = this.deps;
    const minecraft = this.minecraft;
    const deadlineMs = Math.max(0, ...this.entries.map((entry) => entry.route.group.settings.startTimeoutMs));
    const started = clock.now();
    const first = await readFirstBytes(client, {
      enough: (bytes) => sniffProtocol(bytes, { minecraft }).kind !== 'need-more',
      limit: SNIFF_LIMIT,
      timeoutMs: deadlineMs,
      clock,
    });
    const socket = first.client.socket;
    if (first.end === 'closed' || socket.destroyed) return;
    if (first.bytes.length === 0) {
      this.counts.silent++;
      this.debug(`closing ${peerOf(socket)}: it sent nothing ${first.end === 'timeout' ? `in ${deadlineMs}ms` : 'before it ended its side'}`);
      socket.destroy();
      return;
    }
    const sniffed = sniffProtocol(first.bytes, { minecraft, final: first.end !== 'enough' });
    const decided: Decided = sniffed.kind === 'need-more' ? { kind: 'unknown', reason: 'the first bytes were cut short' } : sniffed;
    await this.route(decided, first.client, first.bytes, Math.max(0, started + deadlineMs - clock.now()));
  }

  private async route(sniffed: Decided, client: Peer, bytes: Buffer, msLeft: number): Promise<void> {
    const socket = client.socket;
    if (sniffed.kind === 'malformed') {
      this.counts.malformed++;
      this.debug(`closing ${peerOf(socket)}: ${sniffed.reason}`);
      if (sniffed.protocol === 'http') answerAndClose(socket, badRequestResponse(sniffed.reason));
      else socket.destroy();
      return;
    }
    const entry = sniffed.kind === 'unknown' ? this.fallback : (this.table.lookup(sniffed.name) ?? this.fallback);
    if (entry === null) {
      this.refuse(sniffed, socket);
      return;
    }
    const { group, minecraft } = entry.route;
    if (minecraft !== null && group.state !== 'Running') {
      if (sniffed.kind === 'minecraft-legacy-ping') {
        this.counts.pingsAnswered++;
        socket.end(encodeLegacyPingResponse(sniffed.ping, minecraftStatus(group, minecraft, sniffed.ping.protocolVersion ?? 0)));
        return;
      }
      if (sniffed.kind === 'minecraft' && sniffed.handshake.nextState === 'status') {
        const status = minecraftStatus(group, minecraft, sniffed.handshake.protocolVersion);
        if (await answerStatus(client, bytes, sniffed.handshake, status, { clock: this.deps.clock, timeoutMs: msLeft })) this.counts.pingsAnswered++;
        return;
      }
      if (sniffed.kind === 'minecraft') {
        entry.forwarder.handle(client, loginHoldBound(group));
        return;
      }
    }
    entry.forwarder.handle(client);
  }

  /** No group answers to what the connection named, and there is no fallback: answer in its protocol, wake nothing. */
  private refuse(sniffed: Exclude<Decided, { kind: 'malformed' }>, socket: Socket): void {
    if (sniffed.kind === 'unknown') {
      this.counts.unknownProtocol++;
      this.debug(`closing ${peerOf(socket)}: ${sniffed.reason}, and port ${this.deps.port()} has no fallback group`);
      socket.destroy();
      return;
    }
    const name = sniffed.name;
    if (name === null) this.counts.noName++;
    else this.counts.unknownName++;
    this.debug(`closing ${peerOf(socket)}: its ${sniffed.kind} ${name === null ? 'names no host' : `names ${name}`}, which no group on port ${this.deps.port()} answers to`);
    switch (sniffed.kind) {
      case 'tls':
        answerAndClose(socket, unrecognizedNameAlert());
        return;
      case 'http':
        answerAndClose(socket, misdirectedResponse(name));
        return;
      case 'http2':
        answerAndClose(socket, misdirectedHttp2Response(sniffed.streamId, name));
        return;
      default:
        socket.destroy();
    }
  }

  private debug(text: string): void {
    if (this.deps.logger.enabled('debug')) this.deps.logger.debug(text);
  }
}
