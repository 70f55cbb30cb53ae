/**
 * Minecraft Java edition's VarInt and String (wiki.vg "Data types"): a VarInt
 * is a 32-bit two's-complement integer in 1 to 5 bytes, 7 bits each, low
 * group first; a String is a VarInt byte count, then UTF-8, with a maximum
 * length in UTF-16 code units that each field sets. The readers answer
 * need-more / malformed / value and never throw; nothing is allocated before
 * a length has been checked against its maximum.
 */
export type McRead<T> =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'value'; readonly value: T; readonly end: number };

const MAX_VARINT_BYTES = 5;
/** The longest string any field allows (chat JSON), in UTF-16 code units. */
export const MAX_STRING_CHARS = 32_767;
const NEED_MORE = { kind: 'need-more' } as const;

/** Reads a VarInt at `offset`; `end` is the offset after it. Six or more bytes are malformed. */
export function readVarInt(bytes: Uint8Array, offset = 0): McRead<number> {
  let value = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = offset + i;
    if (at >= bytes.length) return NEED_MORE;
    const byte = bytes[at] ?? 0;
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return { kind: 'value', value, end: at + 1 };
  }
  return { kind: 'malformed', reason: 'a VarInt longer than 5 bytes' };
}

/**
 * Reads a String of at most `maxChars` UTF-16 code units. A negative byte
 * count, or more than 3 bytes per allowed character, is malformed before any
 * byte is read; invalid UTF-8 becomes U+FFFD, as the Java server does.
 */
export function readMcString(bytes: Uint8Array, offset: number, maxChars: number): McRead<string> {
  const length = readVarInt(bytes, offset);
  if (length.kind !== 'value') return length;
  if (length.value < 0) return { kind: 'malformed', reason: `a string of negative length ${length.value}` };
  if (length.value > maxChars * 3) return { kind: 'malformed', reason: `a string of ${length.value} bytes, longer than the ${maxChars} characters allowed` };
  const end = length.end + length.value;
  if (end > bytes.length) return NEED_MORE;
  const value = Buffer.from(bytes.buffer, bytes.byteOffset + length.end, length.value).toString('utf8');
  if (value.length > maxChars) return { kind: 'malformed', reason: `a string of ${value.length} characters, longer than the ${maxChars} allowed` };
  return { kind: 'value', value, end };
}

export function encodeVarInt(value: number): Buffer {
  const out: number[] = [];
  let rest = value >>> 0; // negative numbers take all 5 bytes, as two's complement
  do {
    const low = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  return Buffer.from(out);
}

export function encodeMcString(text: string): Buffer {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([encodeVarInt(utf8.length), utf8]);
}
