import type { Socket } from 'node:net';
import { formatHostPort } from './address.js';
import { clientAddress } from './address-list.js';

/** A client as logs show it: `203.0.113.7:51234`, `[2001:db8::1]:443`. */
export function peerOf(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return 'a closed socket';
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; show them as people know them.
  return formatHostPort({ host: clientAddress(remoteAddress), port: remotePort });
}
