import { normalizeHostName } from './host-name.js';

/** A Host header or URI authority, read: the host in compared form, or why it is not one. */
export type HostHeader = { readonly ok: true; readonly host: string | null } | { readonly ok: false; readonly reason: string };

const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/;
const PORT = /^[0-9]*$/;

/**
 * Reads `host[:port]` as found in a Host header, an HTTP/2 `:authority`, or
 * the authority of an absolute-form request target (RFC 9110 7.2, RFC 3986
 * 3.2). Returns the host without its port, lower case, without a trailing
 * dot; an IPv6 literal keeps its brackets (`[::1]`) so it reads as one. An
 * empty value (allowed by HTTP/1.1 when the target has no authority) is host
 * null. User info (`user@`) before the host is dropped.
 */
export function readHostHeader(value: string): HostHeader {
  let text = value.trim();
  const at = text.lastIndexOf('@');
  if (at !== -1) text = text.slice(at + 1);
  if (text.length === 0) return { ok: true, host: null };
  let host: string;
  let port: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return bad(value, 'an IPv6 literal without its closing "]"');
    host = text.slice(0, close + 1).toLowerCase();
    const rest = text.slice(close + 1);
    if (rest.length > 0 && !rest.startsWith(':')) return bad(value, 'text after the IPv6 literal that is no port');
    port = rest.slice(1);
    if (!IPV6_LITERAL.test(host)) return bad(value, 'an IPv6 literal with characters other than hex digits, ":" and "."');
  } else {
    const colon = text.indexOf(':');
    if (colon !== text.lastIndexOf(':')) return bad(value, 'more than one ":" (an IPv6 literal needs [brackets])');
    host = colon === -1 ? text : text.slice(0, colon);
    port = colon === -1 ? '' : text.slice(colon + 1);
    const normal = normalizeHostName(host);
    if (normal === null) return bad(value, 'it is no host name');
    host = normal;
  }
  if (!PORT.test(port) || port.length > 5) return bad(value, `the port "${port}" is not a number`);
  return { ok: true, host };
}

function bad(value: string, why: string): HostHeader {
  return { ok: false, reason: `the host ${JSON.stringify(value.trim().slice(0, 80))} is not valid: ${why}` };
}
