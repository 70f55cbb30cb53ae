import { readHostHeader } from './host-header.js';
import { SNIFF_LIMIT } from './sniff-limit.js';

/**
 * What the first bytes of a connection say about an HTTP/1.x request head:
 * - `need-more`: a request head so far; call again with more bytes;
 * - `not-http`: the request line is not HTTP/1.x's (`METHOD target HTTP/1.x`);
 * - `malformed`: it starts like HTTP but breaks the grammar (two Host headers,
 *   a bad Host, folded header lines, another HTTP version, a head longer than
 *   the read limit); answer 400 or 421 and close;
 * - `request`: the whole head is in. `host` is the name to route by, in
 *   compared form: from an absolute-form target (`GET http://name/ HTTP/1.1`,
 *   which RFC 9112 3.2.2 says wins over Host) or the authority-form of
 *   CONNECT, else from the Host header; port removed, lower case, IPv6 kept in
 *   brackets; null when there is none (HTTP/1.0, or `curl -H 'Host:'`).
 *   `headLength` is the bytes up to and including the blank line.
 */
export type HttpHeadResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-http' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | {
      readonly kind: 'request';
      readonly method: string;
      readonly target: string;
      readonly version: '1.0' | '1.1';
      readonly host: string | null;
      readonly headLength: number;
    };

const NEED_MORE = { kind: 'need-more' } as const;
const NOT_HTTP = { kind: 'not-http' } as const;
const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const MAX_METHOD = 32;
/** RFC 9110 5.6.2 token characters, for header names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * Reads an HTTP/1.x request head from the bytes a connection has sent so far
 * (all of them, from the first); call again with the longer buffer after each
 * read. Decides `not-http` from the first bytes that cannot start a request
 * line, so a binary protocol is turned away at once. Looks at no more than
 * `limit` bytes. Accepts bare LF line ends, as most servers do. Never throws.
 */
export function readHttpRequestHead(bytes: Uint8Array, limit = SNIFF_LIMIT): HttpHeadResult {
  const data = bytes.subarray(0, limit);
  const line = readRequestLine(data);
  if (line.kind !== 'line') return line.kind === 'need-more' ? needMore(data, limit) : line;
  const { method, target, version } = line;

  const headers: string[] = [];
  let start = line.end;
  for (;;) {
    const lf = data.indexOf(LF, start);
    if (lf === -1) return needMore(data, limit);
    const text = latin1(data.subarray(start, lf > start && data[lf - 1] === CR ? lf - 1 : lf));
    start = lf + 1;
    if (text.length === 0) break;
    headers.push(text);
  }

  let hostHeader: string | null = null;
  for (const header of headers) {
    if (header.startsWith(' ') || header.startsWith('\t')) return malformed('a folded header line (obsolete line folding is not accepted)');
    const colon = header.indexOf(':');
    const name = colon === -1 ? '' : header.slice(0, colon);
    if (!TOKEN.test(name)) return malformed(`the header line ${JSON.stringify(header.slice(0, 40))} has no valid name`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(header)) return malformed(`the ${name} header has a control character`);
    if (name.toLowerCase() !== 'host') continue;
    if (hostHeader !== null) return malformed('two Host headers');
    hostHeader = header.slice(colon + 1);
  }

  const authority = authorityOf(method, target) ?? hostHeader;
  let host: string | null = null;
  if (authority !== null) {
    const read = readHostHeader(authority);
    if (!read.ok) return malformed(read.reason);
    host = read.host;
  }
  return { kind: 'request', method, target, version, host, headLength: start };
}

type RequestLine =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-http' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'line'; readonly method: string; readonly target: string; readonly version: '1.0' | '1.1'; readonly end: number };

/**
 * `METHOD SP target SP HTTP/d.d CRLF`, judged byte by byte so that a partial
 * line is rejected as soon as a byte cannot belong to one. Up to the `HTTP/`
 * of the version, a wrong byte means "not HTTP"; after it, the client clearly
 * speaks HTTP and a wrong byte is malformed.
 */
function readRequestLine(data: Uint8Array): RequestLine {
  let i = 0;
  while (i < data.length && isMethodChar(data[i] ?? 0)) i++;
  if (i > MAX_METHOD) return NOT_HTTP;
  if (i === data.length) return NEED_MORE;
  if (i === 0 || data[i] !== SP) return NOT_HTTP;
  const method = latin1(data.subarray(0, i));
  const targetStart = ++i;
  while (i < data.length && isTargetChar(data[i] ?? 0)) i++;
  if (i === data.length) return NEED_MORE;
  if (i === targetStart || data[i] !== SP) return NOT_HTTP;
  const target = latin1(data.subarray(targetStart, i));
  const versionStart = ++i;
  const expected = 'HTTP/';
  for (let k = 0; k < expected.length; k++, i++) {
    if (i === data.length) return NEED_MORE;
    if (data[i] !== expected.charCodeAt(k)) return NOT_HTTP;
  }
  // HTTP/d.d then CRLF (or a bare LF).
  const tail = latin1(data.subarray(i, i + 5));
  const shape = /^(\d?)(\.?)(\d?)(\r?)(\n?)/.exec(tail);
  const full = shape?.[0] ?? '';
  if (shape?.[5] !== '\n') {
    if (full.length === tail.length) return NEED_MORE;
    return malformed(`the request line ends in ${JSON.stringify(latin1(data.subarray(versionStart, i + 5)))}, not HTTP/1.0 or HTTP/1.1`);
  }
  const version = `${shape[1] ?? ''}${shape[2] ?? ''}${shape[3] ?? ''}`;
  if (version !== '1.0' && version !== '1.1') return malformed(`HTTP/${version} is not HTTP/1.x`);
  return { kind: 'line', method, target, version, end: i + full.length };
}

/** The authority a request line names itself: absolute-form, or CONNECT's authority-form. */
function authorityOf(method: string, target: string): string | null {
  if (method === 'CONNECT') return target;
  const match = ABSOLUTE_FORM.exec(target);
  return match === null ? null : (match[1] ?? '');
}

/** Upper-case letters, "-" and "_": every registered method, and what nginx accepts. */
function isMethodChar(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || byte === 0x2d || byte === 0x5f;
}

/** Visible ASCII and raw UTF-8 (which some clients send unescaped); no spaces or controls. */
function isTargetChar(byte: number): boolean {
  return (byte > SP && byte < 0x7f) || byte >= 0x80;
}

function needMore(data: Uint8Array, limit: number): HttpHeadResult {
  return data.length >= limit ? malformed(`the request head is longer than the ${limit}-byte read limit`) : NEED_MORE;
}

function malformed(reason: string): HttpHeadResult & { kind: 'malformed' } {
  return { kind: 'malformed', reason };
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}
