import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { isIP } from 'node:net';
import { formatHostPort } from './address.js';
import { errorCode } from './errors.js';
import { listenError } from './listen-error.js';

/** Asked of the kernel for a listening socket (it caps this at net.core.rmem_max / wmem_max), for bursts while the event loop is busy. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

function bindSocket(type: SocketType, address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, ipv6Only: false, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    const onError = (error: Error): void => {
      try {
        socket.close();
      } catch {
        // The bind failed: nothing to close.
      }
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ port, address }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * Binds a UDP port on `bind`, or on every interface: IPv6 and IPv4 (one
 * dual-stack socket) where the host has both, IPv4 alone where it has no
 * IPv6, as Node's net does for TCP. Rejects with a UserError that says what
 * to fix.
 */
export async function bindUdpPort(port: number, bind: string | undefined): Promise<Socket> {
  const where = bind === undefined ? `port ${port}/udp` : `${formatHostPort({ host: bind, port })}/udp`;
  try {
    return await bindSocket(bind === undefined || isIP(bind) === 6 ? 'udp6' : 'udp4', bind ?? '::', port);
  } catch (error) {
    const code = errorCode(error);
    if (bind !== undefined || code === 'EADDRINUSE' || code === 'EACCES') throw listenError(error, where, bind);
    try {
      return await bindSocket('udp4', '0.0.0.0', port);
    } catch (fallbackError) {
      throw listenError(fallbackError, where, bind);
    }
  }
}
