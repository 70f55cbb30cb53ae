import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Listens on 127.0.0.1 (port 0: any free port) and resolves with the port. */
export async function listenLocal(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => {
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return address.port;
}

/** An echo server on 127.0.0.1 that forwards half-close, like the test image's server. */
export async function startEchoServer(port = 0): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  return { server, port: await listenLocal(server, port), connections: () => connections };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await closeServer(server);
  return port;
}

export function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, allowHalfOpen: true });
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** True when something accepts connections on the port right now. */
export async function accepting(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    (await openSocket(port, host)).destroy();
    return true;
  } catch {
    return false;
  }
}

/** Everything the socket receives until the other side ends or it closes, and whether that was an error. */
export function readAll(socket: Socket): Promise<{ data: Buffer; error: Error | null }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | null = null;
    const done = (): void => {
      resolve({ data: Buffer.concat(chunks), error });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e) => (error = e));
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** Deterministic pseudo-random bytes, so a corrupted or reordered byte shows in the checksum. */
export function payload(bytes: number, seed = 1): Buffer {
  const buffer = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buffer[i] = x >>> 24;
  }
  return buffer;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sends `data` in pieces, then half-closes; resolves with everything echoed back. */
export async function echoThrough(port: number, data: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  const socket = await openSocket(port, host);
  const received = readAll(socket);
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    if (!socket.write(data.subarray(offset, offset + 64 * 1024))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  const { data: echoed, error } = await received;
  if (error !== null) throw error;
  return echoed;
}
