import { isIP } from 'node:net';

/** Where a listener forwards to: a host name or IP literal and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses a TCP port number (1-65535), throwing an Error that says the range. */
export function parsePort(text: string): number {
  const value = text.trim();
  if (!/^\d+$/.test(value)) throw new Error(`"${text}" is not a port; a port is a whole number from 1 to 65535`);
  const port = Number(value);
  if (port < 1 || port > 65535) throw new Error(`port ${value} is out of range; a port is a whole number from 1 to 65535`);
  return port;
}

/**
 * Parses `host:port`, `ip:port` or `[ipv6]:port`. A bare IPv6 address with a
 * port is ambiguous, so it is rejected with the bracketed form as the fix.
 */
export function parseHostPort(text: string): HostPort {
  const value = text.trim();
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(value);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (isIP(host) !== 6) throw new Error(`"${text}": [${host}] is not an IPv6 address`);
    return { host, port: parsePort(bracketed[2] ?? '') };
  }
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw new Error(`"${text}" is not host:port; write it like localhost:5000, 10.0.0.2:80 or [::1]:80`);
  const host = value.slice(0, colon);
  if (host.includes(':')) throw new Error(`"${text}" looks like an IPv6 address; put it in brackets: [${host}]:${value.slice(colon + 1)}`);
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new Error(`"${text}": "${host}" is not a host name or IP address`);
  return { host, port: parsePort(value.slice(colon + 1)) };
}

/** The inverse of parseHostPort: brackets IPv6 literals. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
