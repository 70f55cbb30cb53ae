import type { Socket } from 'node:net';

/** What the reader's consumer did with a chunk. */
export interface Delivery {
  /** False: stop reading until resumed (the other side pushes back). */
  readonly more: boolean;
  /** False: the chunk is still queued for writing, so its memory must not be read into again. */
  readonly released: boolean;
}

export const MIN_READ = 1024;
export const MAX_READ = 1024 * 1024;
/** Reads stay at most this big while the other side does not keep up, so a slow client pins little memory. */
export const SLOW_READ = 64 * 1024;

/** The buffer for the next read: the same one while it is free, bigger while reads fill it, smaller while they do not. */
export function nextReadBuffer(buffer: Buffer, read: number, released: boolean): Buffer {
  if (!released) return Buffer.allocUnsafe(Math.min(buffer.length, SLOW_READ));
  if (read === buffer.length && buffer.length < MAX_READ) return Buffer.allocUnsafe(buffer.length * 2);
  if (read < buffer.length / 4 && buffer.length > MIN_READ) return Buffer.allocUnsafe(buffer.length / 2);
  return buffer;
}

/**
 * Reads a connection into a buffer of its own instead of Node's fresh 64 KiB
 * per read: the buffer is reused while each chunk is written out at once, and
 * grows up to 1 MiB while reads fill it, so a bulk transfer costs far fewer
 * allocations, syscalls and callbacks. Only sockets we create can read this
 * way (net.connect's `onread`), so it serves the upstream side. Bytes that
 * arrive before a consumer is attached are copied and kept for it.
 */
export class UpstreamReader {
  private buffer: Buffer = Buffer.allocUnsafe(MIN_READ);
  private early: Buffer[] = [];
  private consumer: ((chunk: Buffer) => Delivery) | null = null;

  /** For net.connect's `onread` option. */
  readonly onread = {
    buffer: (): Buffer => this.buffer,
    callback: (read: number, buffer: Buffer): boolean => this.read(read, buffer),
  };

  /** Hands every chunk, the early ones first, to `consume`; pauses `socket` when the consumer pushes back. */
  attach(socket: Socket, consume: (chunk: Buffer) => Delivery): void {
    this.consumer = consume;
    const early = this.early;
    this.early = [];
    let more = true;
    for (const chunk of early) more = consume(chunk).more && more;
    if (!more) socket.pause();
  }

  private read(read: number, buffer: Buffer): boolean {
    const chunk = buffer.subarray(0, read);
    if (this.consumer === null) {
      this.early.push(Buffer.from(chunk));
      return true;
    }
    const { more, released } = this.consumer(chunk);
    this.buffer = nextReadBuffer(buffer, read, released);
    return more;
  }
}
