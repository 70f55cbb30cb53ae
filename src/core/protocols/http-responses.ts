/**
 * The answers an HTTP/1.x client gets when its request cannot be routed. Each
 * is a complete response with a one-line text body and `Connection: close`;
 * write it, then end the socket. Nothing of the client's is echoed but a host
 * name that already passed the host-name check, so the body is safe to show.
 */

/** 421 Misdirected Request (RFC 9110 15.5.20): no group answers to this name here. */
export function misdirectedResponse(host: string | null): Buffer {
  const line =
    host === null
      ? 'This request names no host; proxytainer routes this port by the Host header.'
      : `No service here answers to the name ${host}.`;
  return plainResponse(421, 'Misdirected Request', line);
}

/** 400 Bad Request, for a request head the sniffer found malformed; `reason` is its one-line explanation. */
export function badRequestResponse(reason: string): Buffer {
  return plainResponse(400, 'Bad Request', `Bad request: ${reason.replace(/[^\x20-\x7e]/g, '?')}.`);
}

function plainResponse(status: number, text: string, line: string): Buffer {
  const body = `${line}\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n' +
      '\r\n' +
      body,
  );
}
