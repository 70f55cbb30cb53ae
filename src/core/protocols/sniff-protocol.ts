import { type HttpHeadResult, readHttpRequestHead } from './http-request-head.js';
import { type Http2RequestResult, readHttp2Request } from './http2-request.js';
import { type HandshakeResult, type MinecraftHandshake, readMinecraftHandshake } from './minecraft-handshake.js';
import { type LegacyPing, type LegacyPingResult, readLegacyPing } from './minecraft-legacy-ping.js';
import { SNIFF_LIMIT } from './sniff-limit.js';
import { type ClientHelloResult, readClientHello } from './tls-client-hello.js';

/**
 * Which protocol a new connection speaks and which name it asks for, read
 * from its first bytes — the entry point of this folder for a port that
 * several groups share (issue 16).
 *
 * How a listener uses it: keep every byte the client sends, in order; after
 * each read call `sniffProtocol(allBytesSoFar, options)`; on `need-more` read
 * on (until SNIFF_LIMIT bytes, which always gives an answer, or a deadline,
 * then call once more with `final: true`). Then look the name up in a
 * HostnameTable and either forward all the bytes, untouched, to that group,
 * or answer with this folder's encoders and close:
 *   tls       → unrecognizedNameAlert()          (tls-alert.ts)
 *   http      → misdirectedResponse(name)        (http-responses.ts); malformed: badRequestResponse(reason)
 *   http2     → misdirectedHttp2Response(streamId, name) (http2-responses.ts)
 *   minecraft → status: readStatusPacket + encodeStatusResponse/encodePong while asleep
 *               (minecraft-status.ts); login: wake, or encodeLoginDisconnect (minecraft-disconnect.ts)
 *   minecraft-legacy-ping → encodeLegacyPingResponse (minecraft-legacy-ping.ts)
 *   unknown / other malformed → close; they wake nothing.
 * Every function here is pure, never throws, and reads no more than `limit` bytes.
 */
export interface SniffOptions {
  /** Some group on this port says `proxytainer.protocol=minecraft`: read Minecraft handshakes and legacy pings too. */
  readonly minecraft: boolean;
  /**
   * No more bytes will come: the client half-closed, or the read deadline
   * passed. Ambiguous prefixes are then decided (a lone 0xFE is a beta
   * legacy ping) and anything still incomplete is malformed or unknown.
   */
  readonly final?: boolean;
  /** Defaults to SNIFF_LIMIT (16 KiB). */
  readonly limit?: number;
}

export type SniffedProtocol = 'tls' | 'http' | 'http2' | 'minecraft' | 'minecraft-legacy-ping';

/** `name` is always in compared form (lower case, no port, no trailing dot), null when the client named none. */
export type Sniffed =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'tls'; readonly name: string | null; readonly alpn: readonly string[] }
  | { readonly kind: 'http'; readonly name: string | null; readonly method: string; readonly target: string; readonly version: '1.0' | '1.1' }
  | { readonly kind: 'http2'; readonly name: string | null; readonly streamId: number }
  | { readonly kind: 'minecraft'; readonly name: string | null; readonly handshake: MinecraftHandshake }
  | { readonly kind: 'minecraft-legacy-ping'; readonly name: string | null; readonly ping: LegacyPing }
  /** Recognisably this protocol, but broken, incomplete at the end, or too long. */
  | { readonly kind: 'malformed'; readonly protocol: SniffedProtocol; readonly reason: string }
  /** No protocol proxytainer knows; `reason` shows the first bytes for the log. */
  | { readonly kind: 'unknown'; readonly reason: string };

type Verdict = 'not' | 'need-more' | Sniffed;

interface Candidate {
  readonly protocol: SniffedProtocol;
  readonly label: string;
  read(data: Uint8Array, limit: number, final: boolean): Verdict;
}

const NEED_MORE = { kind: 'need-more' } as const;

const TLS: Candidate = {
  protocol: 'tls',
  label: 'TLS ClientHello',
  read: (data, limit) => fromTls(readClientHello(data, limit)),
};
const HTTP2: Candidate = {
  protocol: 'http2',
  label: 'HTTP/2 request',
  read: (data, limit) => fromHttp2(readHttp2Request(data, limit)),
};
const HTTP: Candidate = {
  protocol: 'http',
  label: 'HTTP/1.x request head',
  read: (data, limit) => fromHttp(readHttpRequestHead(data, limit)),
};
const MINECRAFT: Candidate = {
  protocol: 'minecraft',
  label: 'Minecraft handshake',
  read: (data, limit) => fromHandshake(readMinecraftHandshake(data, limit)),
};
const LEGACY_PING: Candidate = {
  protocol: 'minecraft-legacy-ping',
  label: 'Minecraft legacy ping',
  read: (data, limit, final) => fromLegacyPing(readLegacyPing(data, final, limit)),
};

/** Classifies the first bytes of a connection. Never throws. */
export function sniffProtocol(bytes: Uint8Array, options: SniffOptions): Sniffed {
  const limit = options.limit ?? SNIFF_LIMIT;
  const final = options.final ?? false;
  const data = bytes.subarray(0, limit);
  // HTTP/2's preface is also an HTTP/1-shaped request line; while the bytes
  // may still be the preface, HTTP/1 is not asked.
  const candidates = [TLS, HTTP2, HTTP, ...(options.minecraft ? [MINECRAFT, LEGACY_PING] : [])];
  const alive: Candidate[] = [];
  for (const candidate of candidates) {
    if (candidate === HTTP && alive.includes(HTTP2)) continue;
    const verdict = candidate.read(data, limit, final);
    if (verdict === 'not') continue;
    if (verdict === 'need-more') {
      alive.push(candidate);
      continue;
    }
    return verdict;
  }
  const [only] = alive;
  if (alive.length === 0) return { kind: 'unknown', reason: `no known protocol starts with ${describeStart(data)}` };
  if (data.length >= limit || final) {
    const why = data.length >= limit ? `in the first ${limit} bytes` : `before the client stopped sending (${data.length} bytes)`;
    if (alive.length === 1 && only !== undefined) return { kind: 'malformed', protocol: only.protocol, reason: `no complete ${only.label} ${why}` };
    return { kind: 'unknown', reason: `no protocol could be told from ${describeStart(data)} ${why}` };
  }
  return NEED_MORE;
}

function fromTls(r: ClientHelloResult): Verdict {
  if (r.kind === 'not-tls') return 'not';
  if (r.kind === 'need-more') return r.kind;
  if (r.kind === 'malformed') return { kind: 'malformed', protocol: 'tls', reason: r.reason };
  return { kind: 'tls', name: r.serverName, alpn: r.alpn };
}

function fromHttp2(r: Http2RequestResult): Verdict {
  if (r.kind === 'not-http2') return 'not';
  if (r.kind === 'need-more') return r.kind;
  if (r.kind === 'malformed') return { kind: 'malformed', protocol: 'http2', reason: r.reason };
  return { kind: 'http2', name: r.host, streamId: r.streamId };
}

function fromHttp(r: HttpHeadResult): Verdict {
  if (r.kind === 'not-http') return 'not';
  if (r.kind === 'need-more') return r.kind;
  if (r.kind === 'malformed') return { kind: 'malformed', protocol: 'http', reason: r.reason };
  return { kind: 'http', name: r.host, method: r.method, target: r.target, version: r.version };
}

function fromHandshake(r: HandshakeResult): Verdict {
  if (r.kind === 'not-minecraft') return 'not';
  if (r.kind === 'need-more') return r.kind;
  if (r.kind === 'malformed') return { kind: 'malformed', protocol: 'minecraft', reason: r.reason };
  return { kind: 'minecraft', name: r.handshake.serverName, handshake: r.handshake };
}

function fromLegacyPing(r: LegacyPingResult): Verdict {
  if (r.kind === 'not-legacy-ping') return 'not';
  if (r.kind === 'need-more') return r.kind;
  if (r.kind === 'malformed') return { kind: 'malformed', protocol: 'minecraft-legacy-ping', reason: r.reason };
  return { kind: 'minecraft-legacy-ping', name: r.ping.serverName, ping: r.ping };
}

/** The first bytes as hex, for a log line: `16 00 ff 05 …` (8 at most). */
function describeStart(data: Uint8Array): string {
  if (data.length === 0) return 'no bytes';
  const hex = [...data.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `the bytes ${hex}${data.length > 8 ? ' …' : ''}`;
}
