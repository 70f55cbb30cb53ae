import { ByteCursor } from './byte-cursor.js';
import { decodeHuffman } from './hpack-huffman.js';
import { ParseError } from './parse-error.js';

/** A header as HPACK carries it: name and value as octets read as latin1. */
export type HeaderField = readonly [name: string, value: string];

/** RFC 7541 Appendix A: the static table, indices 1 to 61. */
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
/** RFC 7541 4.1: an entry's size counts 32 octets of overhead. */
const ENTRY_OVERHEAD = 32;

/**
 * Decodes the first header block of an HTTP/2 connection (RFC 7541). The
 * dynamic table starts empty, with the default 4096-octet limit, because
 * proxytainer has sent no SETTINGS of its own when it reads this. Throws
 * ParseError for anything HPACK forbids; the HTTP/2 reader catches it.
 */
export function decodeHeaderBlock(block: Uint8Array, maxTableSize = 4096): HeaderField[] {
  const input = new ByteCursor(block);
  const dynamic: HeaderField[] = []; // newest first
  let tableSize = 0;
  let limit = maxTableSize;
  const headers: HeaderField[] = [];

  const entry = (index: number): HeaderField => {
    const field = index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : dynamic[index - STATIC_TABLE.length - 1];
    if (index === 0 || field === undefined) throw new ParseError(`HPACK index ${index} is not in the table`);
    return field;
  };
  const evict = (): void => {
    while (tableSize > limit) {
      const old = dynamic.pop();
      if (old === undefined) break;
      tableSize -= old[0].length + old[1].length + ENTRY_OVERHEAD;
    }
  };

  while (input.remaining > 0) {
    const first = input.bytes[input.offset] ?? 0;
    if (first & 0x80) {
      headers.push(entry(readInteger(input, 7)));
    } else if (first & 0x40) {
      const field = readLiteral(input, 6, entry);
      headers.push(field);
      dynamic.unshift(field);
      tableSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      evict();
    } else if (first & 0x20) {
      const size = readInteger(input, 5);
      if (size > maxTableSize) throw new ParseError(`an HPACK table size of ${size}, above the ${maxTableSize} allowed`);
      if (headers.length > 0) throw new ParseError('an HPACK table size update after the first header');
      limit = size;
      evict();
    } else {
      headers.push(readLiteral(input, 4, entry));
    }
  }
  return headers;
}

/** A literal field: a name index in `prefix` bits (0: the name follows as a string), then the value. */
function readLiteral(input: ByteCursor, prefix: number, entry: (index: number) => HeaderField): HeaderField {
  const index = readInteger(input, prefix);
  const name = index === 0 ? readString(input) : entry(index)[0];
  return [name, readString(input)];
}

/** RFC 7541 5.1; values past 2^28 are refused rather than lose precision. */
function readInteger(input: ByteCursor, prefix: number): number {
  const mask = (1 << prefix) - 1;
  let value = input.u8('HPACK integer') & mask;
  if (value < mask) return value;
  for (let shift = 0; ; shift += 7) {
    if (shift > 21) throw new ParseError('an HPACK integer that is too large');
    const byte = input.u8('HPACK integer');
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
}

/** RFC 7541 5.2: a length with a Huffman flag, then that many octets. */
function readString(input: ByteCursor): string {
  const huffman = ((input.bytes[input.offset] ?? 0) & 0x80) !== 0;
  const raw = input.take(readInteger(input, 7), 'HPACK string');
  const octets = huffman ? decodeHuffman(raw) : raw;
  return Buffer.from(octets.buffer, octets.byteOffset, octets.length).toString('latin1');
}
