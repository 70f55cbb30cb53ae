/**
 * The answer an HTTP/2 prior-knowledge client gets when its request names no
 * group here: the server preface (an empty SETTINGS), a `421` response on the
 * request's stream with a one-line text body, and GOAWAY naming that stream as
 * the last one processed, so the client neither retries it here nor sends
 * more. Write it, then end the socket.
 */
export function misdirectedHttp2Response(streamId: number, host: string | null): Buffer {
  const line =
    host === null
      ? 'This request names no host; proxytainer routes this port by :authority.'
      : `No service here answers to the name ${host}.`;
  const body = Buffer.from(`${line}\n`);
  const contentType = Buffer.from('text/plain; charset=utf-8', 'latin1');
  // HPACK literals without indexing (RFC 7541 6.2.2), names from the static table:
  // :status is index 8 (0x08 fits the 4-bit prefix); content-type is 31 (15 + 16).
  const block = Buffer.concat([Buffer.from([0x08, 3]), Buffer.from('421', 'latin1'), Buffer.from([0x0f, 16, contentType.length]), contentType]);
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(streamId & 0x7fffffff, 0); // last stream id; error code 0 = NO_ERROR
  return Buffer.concat([
    frame(4, 0, 0, Buffer.alloc(0)), // SETTINGS
    frame(1, 0x4, streamId, block), // HEADERS, END_HEADERS
    frame(0, 0x1, streamId, body), // DATA, END_STREAM
    frame(7, 0, 0, goaway), // GOAWAY
  ]);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}
