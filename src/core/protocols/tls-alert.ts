/**
 * The bytes of a fatal TLS alert record, `unrecognized_name` (112, RFC 6066
 * 3), to write before closing a connection whose SNI names no group: the client
 * then reports "unrecognized name" instead of a bare connection reset. Sent in
 * the clear, as every alert before the handshake is, with record version 3.3
 * (TLS 1.2), which TLS 1.0 to 1.3 clients all accept at this point. A fresh
 * buffer each call, since socket.write may hold on to it.
 */
export function unrecognizedNameAlert(): Buffer {
  return Buffer.from([
    21, // content type: alert
    3,
    3, // record version 3.3
    0,
    2, // length
    2, // level: fatal
    112, // description: unrecognized_name
  ]);
}
