import { normalizeHostName } from './host-name.js';
import type { MinecraftStatus } from './minecraft-status.js';
import { SNIFF_LIMIT } from './sniff-limit.js';

/**
 * The server list ping of clients before 1.7, which 1.7+ clients also send
 * when the modern ping fails (wiki.vg "Server List Ping", legacy sections):
 * - beta 1.8 to 1.3: the single byte 0xFE;
 * - 1.4 and 1.5: 0xFE 0x01;
 * - 1.6 (and the 1.7+ fallback): 0xFE 0x01 0xFA, then an `MC|PingHost`
 *   plugin message with the protocol version, host name and port.
 *
 * Decision (issue 16): recognise all three and answer them ourselves like the
 * modern ping (it costs one small encoder), never waking the group. A 1.6
 * ping names its host and routes like a handshake; the older two name none.
 * The bare 0xFE and 0xFE 0x01 are also how a modern packet of length 254 or
 * more begins, so they are told apart only by what follows or by silence:
 * they stay need-more until the caller says the client has stopped sending
 * (`final`, when its read deadline passes).
 */
export interface LegacyPing {
  readonly variant: 'beta' | '1.4' | '1.6';
  /** The client's protocol version (1.6 only). */
  readonly protocolVersion: number | null;
  /** The host in compared form (1.6 only), null when absent or not a host name. */
  readonly serverName: string | null;
  readonly port: number | null;
  /** Bytes of the ping. */
  readonly length: number;
}

export type LegacyPingResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-legacy-ping' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'legacy-ping'; readonly ping: LegacyPing };

const CHANNEL = 'MC|PingHost';
const NEED_MORE = { kind: 'need-more' } as const;
const NOT_LEGACY = { kind: 'not-legacy-ping' } as const;
/** Protocol 127 is the convention for "no protocol in common": the client shows the version name in red. */
const UNKNOWN_PROTOCOL = 127;

/**
 * Reads a legacy ping from the first bytes; `final` says no more will come.
 * A 1.6 ping longer than `limit` bytes is malformed. Never throws.
 */
export function readLegacyPing(bytes: Uint8Array, final = false, limit = SNIFF_LIMIT): LegacyPingResult {
  if (bytes.length === 0) return NEED_MORE;
  if (bytes[0] !== 0xfe) return NOT_LEGACY;
  if (bytes.length === 1) return final ? legacy('beta', 1) : NEED_MORE;
  if (bytes[1] !== 0x01) return NOT_LEGACY;
  if (bytes.length === 2) return final ? legacy('1.4', 2) : NEED_MORE;
  if (bytes[2] !== 0xfa) return NOT_LEGACY;

  // 3 bytes, u16 channel length, channel in UTF-16BE, u16 data length, data.
  const u16 = (at: number): number => ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
  if (bytes.length < 5) return NEED_MORE;
  if (u16(3) !== CHANNEL.length) return { kind: 'malformed', reason: `a legacy ping whose channel name has ${u16(3)} characters, not ${CHANNEL.length}` };
  const dataAt = 5 + CHANNEL.length * 2;
  if (bytes.length < dataAt + 2) return NEED_MORE;
  if (utf16be(bytes.subarray(5, dataAt)) !== CHANNEL) return { kind: 'malformed', reason: `a legacy ping on a channel other than ${CHANNEL}` };
  const dataLength = u16(dataAt);
  const end = dataAt + 2 + dataLength;
  if (end > limit) return { kind: 'malformed', reason: `a legacy ping of ${end} bytes does not fit in the ${limit}-byte read limit` };
  if (bytes.length < end) return NEED_MORE;
  const protocolVersion = bytes[dataAt + 2] ?? 0;
  const hostChars = u16(dataAt + 3);
  if (dataLength !== 7 + 2 * hostChars) return { kind: 'malformed', reason: `a legacy ping with ${dataLength} bytes of data for a ${hostChars}-character host` };
  const host = utf16be(bytes.subarray(dataAt + 5, dataAt + 5 + 2 * hostChars));
  const portAt = dataAt + 5 + 2 * hostChars;
  const port = (((bytes[portAt] ?? 0) << 24) | ((bytes[portAt + 1] ?? 0) << 16) | ((bytes[portAt + 2] ?? 0) << 8) | (bytes[portAt + 3] ?? 0)) >>> 0;
  const serverName = normalizeHostName(host);
  return { kind: 'legacy-ping', ping: { variant: '1.6', protocolVersion, serverName, port, length: end } };
}

/**
 * The kick packet (0xFF, UTF-16BE text) that answers a legacy ping: for 1.4+
 * `§1\0protocol\0version\0motd\0online\0max`, with the client's own protocol
 * from a 1.6 ping (so it shows as compatible) and 127 for 1.4/1.5 pings,
 * which do not say theirs; for beta, `motd§online§max`.
 */
export function encodeLegacyPingResponse(ping: LegacyPing, status: MinecraftStatus): Buffer {
  const motd = status.motd.replace(/\n/g, ' ');
  const text =
    ping.variant === 'beta'
      ? `${motd.replace(/§/g, '')}§${status.onlinePlayers}§${status.maxPlayers}`
      : ['§1', String(ping.protocolVersion ?? UNKNOWN_PROTOCOL), status.versionName, motd, String(status.onlinePlayers), String(status.maxPlayers)].join('\0');
  const body = Buffer.from(text, 'utf16le').swap16();
  const header = Buffer.alloc(3);
  header[0] = 0xff;
  header.writeUInt16BE(text.length, 1);
  return Buffer.concat([header, body]);
}

function legacy(variant: 'beta' | '1.4', length: number): LegacyPingResult {
  return { kind: 'legacy-ping', ping: { variant, protocolVersion: null, serverName: null, port: null, length } };
}

function utf16be(bytes: Uint8Array): string {
  return Buffer.from(bytes).swap16().toString('utf16le');
}
