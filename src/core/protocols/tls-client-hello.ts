import { ByteCursor } from './byte-cursor.js';
import { normalizeHostName } from './host-name.js';
import { ParseError } from './parse-error.js';
import { SNIFF_LIMIT } from './sniff-limit.js';

/**
 * What the first bytes of a connection say about a TLS ClientHello:
 * - `need-more`: a ClientHello so far; call again with more bytes;
 * - `not-tls`: the first bytes are no TLS handshake record;
 * - `malformed`: TLS, but the records or the hello do not add up (or it will
 *   not fit in the read limit); `reason` says where;
 * - `client-hello`: complete. `serverName` is the SNI host name in compared
 *   form (lower case, no trailing dot), null when the client sent none (an IP
 *   address was dialled, or `openssl s_client -noservername`). `alpn` is the
 *   offered ALPN protocols, in the client's order.
 * The bytes are only read, never changed: forward them as they came.
 */
export type ClientHelloResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'client-hello'; readonly serverName: string | null; readonly alpn: readonly string[] };

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const RECORD_HEADER = 5;
/** RFC 8446 5.1: a record's plaintext is at most 2^14 bytes. */
const MAX_RECORD = 16_384;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

const NEED_MORE = { kind: 'need-more' } as const;
const NOT_TLS = { kind: 'not-tls' } as const;

/**
 * Reads a ClientHello from the bytes a connection has sent so far (all of them,
 * from the first). Pure and stateless: call it again with the longer buffer
 * after each read; it re-reads from the start, which is cheap at these sizes.
 * The hello may be split over any number of TCP reads and TLS records. Looks
 * at no more than `limit` bytes; a hello that cannot complete within them is
 * `malformed`. Never throws.
 */
export function readClientHello(bytes: Uint8Array, limit = SNIFF_LIMIT): ClientHelloResult {
  const data = bytes.subarray(0, limit);
  // The first record header tells TLS from anything else: 0x16 0x03 0x00..0x04.
  if (data.length === 0) return NEED_MORE;
  if (data[0] !== CONTENT_HANDSHAKE) return NOT_TLS;
  if (data.length === 1) return NEED_MORE;
  if (data[1] !== 3) return NOT_TLS;
  if (data.length === 2) return NEED_MORE;
  if ((data[2] ?? 0) > 4) return NOT_TLS;
  try {
    return reassemble(data, limit);
  } catch (error) {
    if (error instanceof ParseError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}

/** Gathers the handshake bytes from consecutive records until the whole ClientHello is there. */
function reassemble(data: Uint8Array, limit: number): ClientHelloResult {
  const fragments: Uint8Array[] = [];
  let gathered = 0;
  let wanted: number | null = null; // 4-byte header + body, once the header is in
  for (let pos = 0; ; ) {
    if (pos + RECORD_HEADER > data.length) {
      checkPartialRecordHeader(data.subarray(pos));
      return endOfData(data, limit);
    }
    const type = data[pos] ?? 0;
    const major = data[pos + 1] ?? 0;
    const length = ((data[pos + 3] ?? 0) << 8) | (data[pos + 4] ?? 0);
    if (type !== CONTENT_HANDSHAKE) throw new ParseError(`a record of content type ${type} arrived before the ClientHello was complete`);
    if (major !== 3) throw new ParseError(`a record has version ${major}.${data[pos + 2] ?? 0}, not 3.x`);
    if (length === 0) throw new ParseError('an empty handshake record (TLS forbids them)');
    if (length > MAX_RECORD) throw new ParseError(`a record of ${length} bytes is longer than TLS allows (${MAX_RECORD})`);
    const start = pos + RECORD_HEADER;
    const available = Math.min(length, data.length - start);
    const fragment = data.subarray(start, start + available);
    fragments.push(fragment);
    gathered += fragment.length;
    if (wanted === null) {
      const header = joined(fragments, Math.min(gathered, 4));
      if (header.length >= 1 && header[0] !== HANDSHAKE_CLIENT_HELLO) {
        throw new ParseError(`the first handshake message is type ${header[0] ?? 0}, not a ClientHello (1)`);
      }
      if (header.length === 4) {
        wanted = 4 + (((header[1] ?? 0) << 16) | ((header[2] ?? 0) << 8) | (header[3] ?? 0));
        // Every record adds 5 bytes; even in one record it must fit in the limit.
        if (wanted + RECORD_HEADER > limit) throw new ParseError(`a ClientHello of ${wanted} bytes does not fit in the ${limit}-byte read limit`);
      }
    }
    if (wanted !== null && gathered >= wanted) return parseClientHello(joined(fragments, wanted));
    if (available < length) return endOfData(data, limit);
    pos = start + length;
  }
}

/** The bytes of a record header seen so far must already look like one. */
function checkPartialRecordHeader(partial: Uint8Array): void {
  if (partial.length >= 1 && partial[0] !== CONTENT_HANDSHAKE) {
    throw new ParseError(`a record of content type ${partial[0] ?? 0} arrived before the ClientHello was complete`);
  }
  if (partial.length >= 2 && partial[1] !== 3) throw new ParseError(`a record has version ${partial[1] ?? 0}.x, not 3.x`);
}

function endOfData(data: Uint8Array, limit: number): ClientHelloResult {
  if (data.length >= limit) throw new ParseError(`no complete ClientHello in the first ${limit} bytes`);
  return NEED_MORE;
}

function joined(fragments: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const fragment of fragments) {
    if (at >= length) break;
    const part = fragment.subarray(0, length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** RFC 8446 4.1.2 (and RFC 5246 7.4.1.2, where extensions may be absent). */
function parseClientHello(message: Uint8Array): ClientHelloResult {
  const hello = new ByteCursor(message, 4);
  const major = hello.u8('legacy_version');
  hello.u8('legacy_version');
  if (major !== 3) throw new ParseError(`the ClientHello has version ${major}.x, not 3.x`);
  hello.skip(32, 'random');
  const sessionId = hello.u8('legacy_session_id length');
  if (sessionId > 32) throw new ParseError(`a session id of ${sessionId} bytes (at most 32)`);
  hello.skip(sessionId, 'legacy_session_id');
  const suites = hello.u16('cipher_suites length');
  if (suites < 2 || suites % 2 !== 0) throw new ParseError(`a cipher suite list of ${suites} bytes (an even number, at least 2)`);
  hello.skip(suites, 'cipher_suites');
  const compression = hello.u8('compression_methods length');
  if (compression < 1) throw new ParseError('no compression methods (at least "null" is required)');
  hello.skip(compression, 'compression_methods');
  if (hello.remaining === 0) return { kind: 'client-hello', serverName: null, alpn: [] };
  const extensions = hello.sub(hello.u16('extensions length'), 'extensions');
  if (hello.remaining !== 0) throw new ParseError(`${hello.remaining} bytes follow the extensions`);

  let serverName: string | null = null;
  let alpn: string[] = [];
  const seen = new Set<number>();
  while (extensions.remaining > 0) {
    const type = extensions.u16('extension type');
    const body = extensions.sub(extensions.u16('extension length'), `extension ${type}`);
    if (seen.has(type)) throw new ParseError(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) serverName = readServerName(body);
    if (type === EXT_ALPN) alpn = readAlpn(body);
  }
  return { kind: 'client-hello', serverName, alpn };
}

/** RFC 6066 3: a list of (name_type, name); only host_name (0) is defined, at most one. */
function readServerName(body: ByteCursor): string | null {
  const list = body.sub(body.u16('server_name list length'), 'server_name list');
  if (body.remaining !== 0) throw new ParseError('bytes follow the server_name list');
  if (list.remaining === 0) throw new ParseError('an empty server_name list');
  let host: string | null = null;
  while (list.remaining > 0) {
    const nameType = list.u8('server_name type');
    const name = list.take(list.u16('server_name length'), 'server_name');
    if (nameType !== 0) continue;
    if (host !== null) throw new ParseError('two host names in server_name');
    const text = Buffer.from(name).toString('latin1');
    host = normalizeHostName(text);
    if (host === null) throw new ParseError(`the SNI host name ${JSON.stringify(text.slice(0, 64))} is not a host name`);
  }
  return host;
}

/** RFC 7301 3.1: a non-empty list of non-empty protocol names. */
function readAlpn(body: ByteCursor): string[] {
  const list = body.sub(body.u16('ALPN list length'), 'ALPN list');
  if (body.remaining !== 0 || list.remaining === 0) throw new ParseError('a malformed ALPN extension');
  const protocols: string[] = [];
  while (list.remaining > 0) {
    const length = list.u8('ALPN protocol length');
    if (length === 0) throw new ParseError('an empty ALPN protocol name');
    protocols.push(Buffer.from(list.take(length, 'ALPN protocol')).toString('latin1'));
  }
  return protocols;
}
