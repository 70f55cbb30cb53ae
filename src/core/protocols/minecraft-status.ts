import { encodeMcPacket, readMcPacket } from './minecraft-packet.js';
import { encodeMcString, type McRead } from './minecraft-varint.js';

/**
 * The status ("server list ping") exchange after a handshake with next state
 * 1: the client sends Status Request (0x00, empty), the server answers Status
 * Response (0x00, a JSON string); the client sends Ping (0x01, 8 bytes), the
 * server echoes them in Pong (0x01) and the client closes. Proxytainer
 * answers this itself while a group sleeps, so the server list shows the
 * server without waking it.
 */
export type StatusPacket = { readonly kind: 'status-request' } | { readonly kind: 'ping'; readonly payload: Uint8Array };

/** What the server list shows for a sleeping server. */
export interface MinecraftStatus {
  /** Shown by the client only when it finds `protocol` incompatible. */
  readonly versionName: string;
  /** Echo the handshake's protocol version, and the client shows the server as compatible. */
  readonly protocol: number;
  readonly maxPlayers: number;
  readonly onlinePlayers: number;
  /** Plain text; `\n` starts the second line. */
  readonly motd: string;
}

/** A status packet is 10 bytes at most (Ping: length, id, 8-byte payload). */
const MAX_STATUS_PACKET = 16;

/**
 * Reads the status-state packet at `offset` (after the handshake: at
 * `handshake.length`). Any packet other than an empty Status Request or an
 * 8-byte Ping is malformed. Never throws.
 */
export function readStatusPacket(bytes: Uint8Array, offset: number): McRead<StatusPacket> {
  const packet = readMcPacket(bytes, offset, MAX_STATUS_PACKET);
  if (packet.kind !== 'value') return packet;
  const { id, body } = packet.value;
  if (id === 0x00 && body.length === 0) return { kind: 'value', value: { kind: 'status-request' }, end: packet.end };
  if (id === 0x01 && body.length === 8) return { kind: 'value', value: { kind: 'ping', payload: body }, end: packet.end };
  return { kind: 'malformed', reason: `status packet 0x${id.toString(16)} with ${body.length} bytes (Status Request or Ping expected)` };
}

/** Status Response: `{"version":{…},"players":{…},"description":{"text":…}}`. */
export function encodeStatusResponse(status: MinecraftStatus): Buffer {
  const json = JSON.stringify({
    version: { name: status.versionName, protocol: status.protocol },
    players: { max: status.maxPlayers, online: status.onlinePlayers },
    description: { text: status.motd },
  });
  return encodeMcPacket(0x00, encodeMcString(json));
}

/** Pong: the Ping's 8 bytes back, which the client uses to measure latency. */
export function encodePong(payload: Uint8Array): Buffer {
  const eight = Buffer.alloc(8);
  eight.set(payload.subarray(0, 8));
  return encodeMcPacket(0x01, eight);
}
