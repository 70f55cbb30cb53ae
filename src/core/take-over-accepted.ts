import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';

/**
 * Gives a socket that net.Server accepted a read buffer of our own.
 *
 * Node reads accepted sockets into a fresh 64 KiB buffer per read and pushes
 * each through the stream machinery; only sockets we create take an `onread`
 * buffer (net.connect's option), and `highWaterMark` does not change the read
 * size. So the server runs with `pauseOnConnect` (the accepted socket's handle
 * is not reading yet, not one byte consumed) and the libuv handle moves to a
 * new net.Socket built with `{ handle, onread }`, which reads into our buffer.
 *
 * This relies on Node internals, tested on Node 20, 22, 24 and 25: the
 * `_handle` accessor of net.Socket, the undocumented `handle` constructor
 * option (Node builds accepted sockets, and sockets handed over from another
 * process, with it), and
 * the handle's `reading` flag and `readStart`/`readStop`/`useUserBuffer`.
 * Everything is checked before it is used: when anything is missing, the
 * caller gets null and keeps Node's accepted socket, read the ordinary way.
 * The fd is never duplicated (a second Socket on one fd trips a libuv
 * assertion); the handle moves, and the accepted socket lets go of it.
 */

/** The shape of takeOverAccepted, so a test can stand in for it. */
export type TakeOver = (accepted: Socket, onread: OnReadOpts) => Socket | null;

interface TcpHandle {
  reading?: boolean;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
}

/** The parts of net.Socket the takeover touches. */
interface SocketInternals {
  _handle: unknown;
  server: unknown;
  _server: unknown;
}

const handleAccessor = Object.getOwnPropertyDescriptor(Socket.prototype, '_handle');

/** Whether this Node has the accessor the takeover moves the handle with; the per-handle checks come at each takeover. */
export const takeoverAvailable: boolean = typeof handleAccessor?.get === 'function' && typeof handleAccessor.set === 'function';

function isPausedTcpHandle(handle: unknown): handle is TcpHandle {
  if (typeof handle !== 'object' || handle === null) return false;
  const h = handle as Partial<Record<keyof TcpHandle, unknown>>;
  return typeof h.readStart === 'function' && typeof h.readStop === 'function' && typeof h.useUserBuffer === 'function' && h.reading === false;
}

/**
 * A socket reading `accepted`'s connection through `onread`, or null (with
 * `accepted` untouched) when this Node does not allow it. `accepted` must
 * come from a server with `pauseOnConnect: true`, before anything read it.
 * The new socket is half-open capable and starts reading at once; the server
 * counts it instead of `accepted`, which then owns nothing (no handle, no
 * listener, no timer) and is left to the garbage collector: destroying it
 * would only run the stream's teardown for nothing, a few µs per connection.
 * Throws only if Node's Socket constructor does, after it may have claimed
 * the handle: then the caller must destroy `accepted`.
 */
export const takeOverAccepted: TakeOver = (accepted, onread) => {
  if (!takeoverAvailable || accepted.destroyed || accepted.readableLength > 0) return null;
  const inner = accepted as unknown as SocketInternals;
  const handle = inner._handle;
  if (!isPausedTcpHandle(handle)) return null;
  // Node's types call `handle` a bound socket of their own; at run time it is the accepted TCP handle, which is the point.
  const options = { handle, onread, allowHalfOpen: true, readable: true, writable: true } as unknown as SocketConstructorOpts;
  const socket = new Socket(options);
  const outer = socket as unknown as SocketInternals;
  if (outer._handle !== handle) {
    socket.destroy();
    throw new Error('net.Socket did not take the accepted handle');
  }
  inner._handle = null;
  outer.server = inner.server;
  outer._server = inner._server;
  inner.server = null;
  inner._server = null;
  return socket;
};
