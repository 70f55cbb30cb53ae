import { describeError, errorCode, UserError } from './errors.js';

/**
 * Turns a listen or bind error into one the user can act on; `where` names
 * the port as the user gave it (`port 8080`, `127.0.0.1:53/udp`).
 */
export function listenError(error: unknown, where: string, bind: string | undefined): UserError {
  switch (errorCode(error)) {
    case 'EADDRINUSE':
      return new UserError(`cannot listen on ${where}: it is already in use; stop what listens there or choose another port`, { cause: error });
    case 'EACCES':
      return new UserError(`cannot listen on ${where}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new UserError(`cannot listen on ${where}: ${bind ?? ''} is not an address of this machine`, { cause: error });
    default:
      return new UserError(`cannot listen on ${where}: ${describeError(error)}`, { cause: error });
  }
}
