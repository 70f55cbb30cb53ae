import type { Socket } from 'node:net';
import { type ChunkSource, type Consumer, delivery, EARLY_LIMIT } from './socket-reader.js';

/** Why `SniffingSource.next` returned: more bytes, the client's end of input, or the connection closed. */
export type NextBytes = 'data' | 'end' | 'closed';

/**
 * Keeps the first bytes of a connection where a router can read them, and
 * then hands them, first and in order, to whoever attaches: a ChunkSource in
 * front of the connection's own (SocketReader, or Node's streams). It attaches
 * to that source once, at once, and only swaps where chunks go, so both kinds
 * work alike. Until a consumer attaches it keeps what arrives, as a held
 * connection does, up to EARLY_LIMIT; then reading stops and the rest waits in
 * the kernel. Chunks are copied: a SocketReader reuses its buffers.
 */
export class SniffingSource implements ChunkSource {
  private kept: Buffer[] = [];
  private size = 0;
  private joined: Buffer | null = null;
  private consumer: Consumer | null = null;
  private waiter: ((why: NextBytes) => void) | null = null;
  private ended = false;

  constructor(
    private readonly inner: ChunkSource,
    private readonly socket: Socket,
  ) {
    inner.attach(socket, (chunk) => this.take(chunk));
    socket.once('end', () => {
      this.ended = true;
      this.wake('end');
    });
    socket.once('close', () => {
      this.wake('closed');
    });
  }

  /** Every byte read so far, in order. */
  bytes(): Buffer {
    this.joined ??= this.kept.length === 1 ? (this.kept[0] as Buffer) : Buffer.concat(this.kept, this.size);
    return this.joined;
  }

  /** The client has half-closed: no more bytes will come. */
  get inputEnded(): boolean {
    return this.ended;
  }

  /** Resolves when more bytes arrive, the input ends, or the connection closes (at once for the last two if they already happened). */
  next(): Promise<NextBytes> {
    if (this.socket.destroyed) return Promise.resolve('closed');
    if (this.ended) return Promise.resolve('end');
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Stops waiting in `next` (a deadline passed); resolves it as if the input had ended. */
  interrupt(): void {
    this.wake('end');
  }

  attach(socket: Socket, consume: Consumer): void {
    this.consumer = consume;
    const kept = this.kept;
    this.kept = [];
    this.joined = null;
    this.size = 0;
    let more = true;
    for (const chunk of kept) more = consume(chunk).more && more;
    if (more) this.inner.resume(socket);
    else socket.pause();
  }

  resume(socket: Socket): void {
    this.inner.resume(socket);
  }

  private take(chunk: Buffer): ReturnType<Consumer> {
    const consume = this.consumer;
    if (consume !== null) return consume(chunk);
    this.kept.push(Buffer.from(chunk));
    this.size += chunk.length;
    this.joined = null;
    this.wake('data');
    return delivery(this.size < EARLY_LIMIT, true);
  }

  private wake(why: NextBytes): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.(why);
  }
}
