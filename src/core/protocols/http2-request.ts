import { ByteCursor } from './byte-cursor.js';
import { decodeHeaderBlock } from './hpack-decoder.js';
import { readHostHeader } from './host-header.js';
import { ParseError } from './parse-error.js';
import { SNIFF_LIMIT } from './sniff-limit.js';

/**
 * Cleartext HTTP/2 with prior knowledge (RFC 9113 3.3): the client opens with
 * the connection preface and sends its first request without waiting for the
 * server, so the name is in the first HEADERS frame.
 *
 * Decision (issue 16): route by `:authority` (or a `host` header when there is
 * none). It is cheap: the first header block is decoded against an empty
 * dynamic table, so HPACK needs only its 61-entry static table and the static
 * Huffman code (about 200 lines here), and curl, nghttp2 and Node's client all
 * send the request at once. The alternative, answering every h2c client with
 * GOAWAY, would make h2c unusable on a shared port.
 *
 * - `need-more`: the preface or the first request's frames so far;
 * - `not-http2`: the bytes are not the HTTP/2 preface;
 * - `malformed`: the preface, but the frames or the header block break the
 *   rules (or do not fit in the read limit);
 * - `request`: `host` in compared form (no port, lower case), null when the
 *   request names none; `streamId` is the request's stream, for the reply.
 */
export type Http2RequestResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-http2' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'request'; readonly host: string | null; readonly streamId: number };

export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const FRAME_HEADER = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value; proxytainer never raises it before reading this. */
const MAX_FRAME = 16_384;
const TYPE_DATA = 0;
const TYPE_HEADERS = 1;
const TYPE_SETTINGS = 4;
const TYPE_CONTINUATION = 9;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const NEED_MORE = { kind: 'need-more' } as const;

/**
 * Reads the preface and the frames up to the first request's complete header
 * block from the bytes a connection has sent so far (all of them, from the
 * first). Looks at no more than `limit` bytes. Never throws.
 */
export function readHttp2Request(bytes: Uint8Array, limit = SNIFF_LIMIT): Http2RequestResult {
  const data = bytes.subarray(0, limit);
  const prefix = Math.min(data.length, HTTP2_PREFACE.length);
  for (let i = 0; i < prefix; i++) if (data[i] !== HTTP2_PREFACE[i]) return { kind: 'not-http2' };
  if (data.length < HTTP2_PREFACE.length) return NEED_MORE;
  try {
    return readFrames(data, limit);
  } catch (error) {
    if (error instanceof ParseError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}

function readFrames(data: Uint8Array, limit: number): Http2RequestResult {
  const fragments: Uint8Array[] = [];
  let streamId = 0; // of the HEADERS being gathered; 0 before one arrives
  for (let pos = HTTP2_PREFACE.length, frames = 0; ; frames++) {
    if (pos + FRAME_HEADER > data.length) return endOfData(data, limit);
    const header = new ByteCursor(data, pos, pos + FRAME_HEADER);
    const length = header.u24('frame length');
    const type = header.u8('frame type');
    const flags = header.u8('frame flags');
    const stream = header.u32('stream id') & 0x7fffffff;
    if (length > MAX_FRAME) throw new ParseError(`a frame of ${length} bytes, above the ${MAX_FRAME} allowed`);
    if (frames === 0 && (type !== TYPE_SETTINGS || stream !== 0 || (flags & FLAG_ACK) !== 0)) {
      throw new ParseError('the preface is not followed by a SETTINGS frame');
    }
    const end = pos + FRAME_HEADER + length;
    if (end > limit) throw new ParseError(`the first request does not fit in the ${limit}-byte read limit`);
    if (end > data.length) return NEED_MORE;
    const payload = new ByteCursor(data, pos + FRAME_HEADER, end);
    pos = end;

    if (streamId !== 0) {
      if (type !== TYPE_CONTINUATION || stream !== streamId) throw new ParseError('a header block interrupted by another frame');
      fragments.push(payload.take(payload.remaining, 'CONTINUATION'));
      if (flags & FLAG_END_HEADERS) return request(fragments, streamId);
      continue;
    }
    if (type === TYPE_CONTINUATION) throw new ParseError('a CONTINUATION frame without HEADERS');
    if (type === TYPE_DATA) throw new ParseError('a DATA frame before any HEADERS');
    if (type !== TYPE_HEADERS) continue; // SETTINGS, WINDOW_UPDATE, PRIORITY, PING, extensions
    if (stream === 0 || stream % 2 === 0) throw new ParseError(`HEADERS on stream ${stream}, which a client cannot open`);
    const padding = flags & FLAG_PADDED ? payload.u8('pad length') : 0;
    if (flags & FLAG_PRIORITY) payload.skip(5, 'priority');
    fragments.push(payload.take(payload.remaining - padding, 'header block fragment'));
    streamId = stream;
    if (flags & FLAG_END_HEADERS) return request(fragments, streamId);
  }
}

function request(fragments: readonly Uint8Array[], streamId: number): Http2RequestResult {
  const headers = decodeHeaderBlock(Buffer.concat(fragments));
  const authority = headers.find(([name]) => name === ':authority') ?? headers.find(([name]) => name === 'host');
  if (authority === undefined) return { kind: 'request', host: null, streamId };
  const read = readHostHeader(authority[1]);
  if (!read.ok) throw new ParseError(read.reason);
  return { kind: 'request', host: read.host, streamId };
}

function endOfData(data: Uint8Array, limit: number): Http2RequestResult {
  if (data.length >= limit) throw new ParseError(`no complete request in the first ${limit} bytes`);
  return NEED_MORE;
}
