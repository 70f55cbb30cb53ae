import { encodeVarInt, type McRead, readVarInt } from './minecraft-varint.js';

/** An uncompressed Minecraft packet (everything before login's Set Compression is). */
export interface McPacket {
  readonly id: number;
  /** The bytes after the packet id. */
  readonly body: Uint8Array;
}

/**
 * Reads one length-prefixed packet at `offset` (`end` is the offset after it).
 * A length below 1 or above `maxLength`, or an id that does not fit in the
 * packet, is malformed; a packet not yet all there is need-more. Never throws.
 */
export function readMcPacket(bytes: Uint8Array, offset: number, maxLength: number): McRead<McPacket> {
  const length = readVarInt(bytes, offset);
  if (length.kind !== 'value') return length;
  if (length.value < 1 || length.value > maxLength) {
    return { kind: 'malformed', reason: `a packet of length ${length.value} (1 to ${maxLength} expected)` };
  }
  const end = length.end + length.value;
  if (end > bytes.length) return { kind: 'need-more' };
  const packet = bytes.subarray(length.end, end);
  const id = readVarInt(packet, 0);
  if (id.kind !== 'value') return { kind: 'malformed', reason: 'a packet id that does not fit in its packet' };
  return { kind: 'value', value: { id: id.value, body: packet.subarray(id.end) }, end };
}

/** A packet: VarInt length, VarInt id, body. */
export function encodeMcPacket(id: number, body: Uint8Array): Buffer {
  const payload = Buffer.concat([encodeVarInt(id), body]);
  return Buffer.concat([encodeVarInt(payload.length), payload]);
}
