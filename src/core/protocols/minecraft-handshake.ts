import { normalizeHostName } from './host-name.js';
import { readMcPacket } from './minecraft-packet.js';
import { MAX_STRING_CHARS, readMcString, readVarInt } from './minecraft-varint.js';
import { SNIFF_LIMIT } from './sniff-limit.js';

/**
 * The first packet of every Minecraft Java connection since 1.7 (protocol 4):
 * Handshake, id 0x00 — protocol version (VarInt), server address (String),
 * server port (unsigned short), next state (VarInt: 1 status, 2 login,
 * 3 transfer since 1.20.5).
 */
export interface MinecraftHandshake {
  readonly protocolVersion: number;
  /** The address exactly as sent, with any suffix (for logs). */
  readonly address: string;
  /**
   * The host to route by, in compared form: the address up to its first NUL
   * (Forge appends `\0FML\0`, `\0FML2\0`, `\0FML3\0`; BungeeCord's IP
   * forwarding appends `\0ip\0uuid…`), lower case, trailing dot (left by SRV
   * lookups) removed. Null when that is empty or no host name (an IPv6
   * literal, say).
   */
  readonly serverName: string | null;
  readonly port: number;
  readonly nextState: 'status' | 'login' | 'transfer';
  /** Bytes of the handshake packet, length prefix included: the next packet starts here. */
  readonly length: number;
}

/**
 * - `need-more`: a handshake so far;
 * - `not-minecraft`: the first bytes cannot start a handshake (a length that
 *   is no VarInt or does not fit the read limit, or a packet id other than 0);
 * - `malformed`: a handshake packet whose fields do not add up;
 * - `handshake`: complete.
 */
export type HandshakeResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-minecraft' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'handshake'; readonly handshake: MinecraftHandshake };

/** The vanilla server reads the address as String(255); longer is allowed only for the suffixes above. */
const MAX_HOST_CHARS = 255;
const NEXT_STATES = { 1: 'status', 2: 'login', 3: 'transfer' } as const;
const NOT_MINECRAFT = { kind: 'not-minecraft' } as const;

/**
 * Reads the handshake from the bytes a connection has sent so far (all of
 * them, from the first). Bytes after it (the status request or Login Start
 * that clients send in the same write) are left for the caller at
 * `handshake.length`. Looks at no more than `limit` bytes. Never throws.
 */
export function readMinecraftHandshake(bytes: Uint8Array, limit = SNIFF_LIMIT): HandshakeResult {
  const data = bytes.subarray(0, limit);
  const length = readVarInt(data, 0);
  if (length.kind === 'need-more') return data.length >= limit ? NOT_MINECRAFT : length;
  if (length.kind === 'malformed' || length.value < 1 || length.end + length.value > limit) return NOT_MINECRAFT;
  if (data.length > length.end && data[length.end] !== 0x00) return NOT_MINECRAFT;
  const packet = readMcPacket(data, 0, limit);
  if (packet.kind !== 'value') return packet;
  if (packet.value.id !== 0) return NOT_MINECRAFT;
  const read = readFields(packet.value.body, packet.end);
  return typeof read === 'string' ? { kind: 'malformed', reason: read } : { kind: 'handshake', handshake: read };
}

/** The handshake's fields from its complete body, or why they do not add up. */
function readFields(body: Uint8Array, length: number): MinecraftHandshake | string {
  const version = readVarInt(body, 0);
  if (version.kind !== 'value') return problem(version, 'protocol version');
  const address = readMcString(body, version.end, MAX_STRING_CHARS);
  if (address.kind !== 'value') return problem(address, 'server address');
  const host = address.value.split('\0', 1)[0] ?? '';
  if (host.length > MAX_HOST_CHARS) return `a server address of ${host.length} characters (at most ${MAX_HOST_CHARS})`;
  if (address.end + 2 > body.length) return 'the server port runs past the end of the handshake';
  const port = ((body[address.end] ?? 0) << 8) | (body[address.end + 1] ?? 0);
  const next = readVarInt(body, address.end + 2);
  if (next.kind !== 'value') return problem(next, 'next state');
  const nextState = NEXT_STATES[next.value as 1 | 2 | 3] as MinecraftHandshake['nextState'] | undefined;
  if (nextState === undefined) return `next state ${next.value} (1 status, 2 login or 3 transfer expected)`;
  if (next.end !== body.length) return `${body.length - next.end} bytes after the handshake's fields`;
  const serverName = host.length === 0 ? null : normalizeHostName(host);
  return { protocolVersion: version.value, address: address.value, serverName, port, nextState, length };
}

/** Inside a complete packet, running out of bytes is malformed too. */
function problem(read: { readonly kind: 'need-more' } | { readonly kind: 'malformed'; readonly reason: string }, field: string): string {
  return read.kind === 'malformed' ? `the ${field}: ${read.reason}` : `the ${field} runs past the end of the handshake`;
}
