import { isIP } from 'node:net';

/** Where a listener forwards to: a host name or IP literal and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses a port number (1-65535), digits only, throwing an Error that says the range. */
export function parsePort(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a port; a port is a whole number from 1 to 65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new Error(`port ${text} is out of range; a port is a whole number from 1 to 65535`);
  return port;
}

/** The transport a listener speaks; its upstream is reached over the same one. */
export type Protocol = 'tcp' | 'udp';

/** A port and its protocol, as docker writes them: `27015/udp`, `8080/tcp`, or `8080` for TCP. */
export interface PortSpec {
  readonly port: number;
  readonly protocol: Protocol;
}

/**
 * Parses `P`, `P/tcp` or `P/udp` (the suffix in any case, as docker takes
 * it). Docker's other protocol, SCTP, is named as unsupported rather than as
 * a typo.
 */
export function parsePortSpec(text: string): PortSpec {
  const slash = text.indexOf('/');
  if (slash < 0) return { port: parsePort(text), protocol: 'tcp' };
  const port = parsePort(text.slice(0, slash));
  const suffix = text.slice(slash + 1);
  const protocol = suffix.toLowerCase();
  if (protocol === 'tcp' || protocol === 'udp') return { port, protocol };
  if (protocol === 'sctp') throw new Error(`"${text}": proxytainer proxies TCP and UDP, not SCTP; write ${port}/tcp or ${port}/udp`);
  if (protocol === '') throw new Error(`"${text}" has no protocol after the slash; write ${port}/udp, or ${port} for TCP`);
  throw new Error(`"${text}": "${suffix}" is not a protocol; write ${port}/udp, or ${port} (or ${port}/tcp) for TCP`);
}

/** The inverse of parsePortSpec, always with the protocol: `27015/udp`. */
export function formatPortSpec({ port, protocol }: PortSpec): string {
  return `${port}/${protocol}`;
}

/** A port in a message: `port 8080` for TCP, as before UDP existed, and `port 27015/udp`. */
export function describePort({ port, protocol }: PortSpec): string {
  return protocol === 'tcp' ? `port ${port}` : `port ${port}/udp`;
}

/**
 * Parses `host:port`, `ip:port` or `[ipv6]:port`. A bare IPv6 address with a
 * port is ambiguous, so it is rejected with the bracketed form as the fix.
 */
export function parseHostPort(text: string): HostPort {
  const value = text;
  const example = 'write it like localhost:5000, 10.0.0.2:80 or [::1]:80';
  if (value.startsWith('[')) {
    const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
    if (bracketed === null) throw new Error(`"${text}" is not host:port; ${example}`);
    const host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new Error(`"${text}": [${host}] is not an IPv6 address`);
    if (bracketed[2] === undefined) throw new Error(`"${text}" has no port; write it like [${host}]:80`);
    return { host, port: parsePort(bracketed[2]) };
  }
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw new Error(`"${text}" is not host:port; ${example}`);
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (host.includes(':')) {
    // Only a real IPv6 address is worth the bracket hint; anything else just has a colon too many.
    if (isIP(host) === 6) throw new Error(`"${text}" looks like an IPv6 address with a port; put the address in brackets: [${host}]:${port}`);
    if (isIP(value) === 6) throw new Error(`"${text}" is an IPv6 address without a port; write it like [${value}]:80`);
    throw new Error(`"${text}" is not host:port; ${example}`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new Error(`"${text}": "${host}" is not a host name or IP address`);
  return { host, port: parsePort(port) };
}

/** Parses an address to listen on: an IPv4 or IPv6 literal, as Node's listen() takes it. */
export function parseBindAddress(text: string): string {
  if (isIP(text) === 0) throw new Error(`"${text}" is not an IP address of this machine; write it like 127.0.0.1, 0.0.0.0, ::1 or ::`);
  return text;
}

/** Wildcard addresses: listening on one of them listens on every interface. */
const ANY_ADDRESS = new Set(['0.0.0.0', '::']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

/**
 * Whether connecting to `target` would reach a listener on `port` bound to
 * `bind` (undefined: every interface): an upstream that is the listener
 * itself would connect back to it, forever.
 */
export function reachesListener(target: HostPort, listener: { readonly port: number; readonly bind: string | undefined }): boolean {
  if (target.port !== listener.port) return false;
  const { bind } = listener;
  return bind === undefined || ANY_ADDRESS.has(bind) ? LOOPBACK.has(target.host) : target.host === bind;
}

/** The inverse of parseHostPort: brackets IPv6 literals. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
