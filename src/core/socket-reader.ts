import type { Socket } from 'node:net';
import { ReadBuffers, SLOW_READ } from './read-buffers.js';

/** What a reader's consumer did with a chunk. */
export interface Delivery {
  /** False: stop reading until resumed (the other side pushes back). */
  readonly more: boolean;
  /** False: the chunk is still queued for writing, so its memory must not be read into again. */
  readonly released: boolean;
}

export type Consumer = (chunk: Buffer) => Delivery;

/** Where a connected socket's bytes come from: handed, in order, to one consumer. */
export interface ChunkSource {
  /**
   * Hands every chunk to `consume`, the ones that arrived before this call
   * first, and keeps `socket` reading; reading stops while the consumer
   * pushes back, until `resume`.
   */
  attach(socket: Socket, consume: Consumer): void;
  /** Reads again after the consumer pushed back. */
  resume(socket: Socket): void;
  /**
   * Before `attach`: hands each chunk to `watch` (the kept ones first) as a
   * copy the caller may keep, until the returned stop function is called or
   * `watch` answers false (then reading stops). The chunks watched are gone
   * from the source: whoever attaches later gets them from the caller first
   * (see `withPrefix`); what arrives after the stop is kept for `attach` as before.
   */
  watch(socket: Socket, watch: (chunk: Buffer) => boolean): () => void;
}

/** The four deliveries, made once: a consumer answers for every chunk, and this saves an object each time. */
const DELIVERIES: readonly Delivery[] = [
  { more: false, released: false },
  { more: false, released: true },
  { more: true, released: false },
  { more: true, released: true },
];

export function delivery(more: boolean, released: boolean): Delivery {
  return DELIVERIES[(more ? 2 : 0) + (released ? 1 : 0)] as Delivery;
}

/** A connected socket and where its bytes are read from. */
export interface Peer {
  readonly socket: Socket;
  readonly reader: ChunkSource;
}

/**
 * Bytes read and kept before a consumer is attached (a held client's first
 * request); past this, reading stops and the rest waits in the kernel. The
 * same bound as a Node stream's buffer, which held connections had before.
 */
export const EARLY_LIMIT = 64 * 1024;

/**
 * Every reader without a consumer reads into this one buffer and copies what
 * it got out at once, so ten thousand held connections own no read buffer.
 */
const SCRATCH = Buffer.allocUnsafe(SLOW_READ);

/**
 * Reads a connection into buffers of its own (ReadBuffers) instead of Node's
 * fresh 64 KiB per read: reused while each chunk is written out at once, and
 * grown up to 1 MiB while reads fill them, so a bulk transfer costs far fewer
 * allocations, syscalls and callbacks. It serves sockets created with its
 * `onread`: upstream connections (net.connect) and accepted ones taken over
 * (take-over-accepted.ts). Bytes that arrive before a consumer is attached are
 * copied and kept for it, up to EARLY_LIMIT.
 */
export class SocketReader implements ChunkSource {
  /** Null until the first read after attach: until then reads go to SCRATCH. */
  private buffers: ReadBuffers | null = null;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private consumer: Consumer | null = null;

  /** For the `onread` option of net.connect and net.Socket. */
  readonly onread = {
    buffer: (): Buffer => this.buffers?.buffer ?? SCRATCH,
    callback: (read: number, buffer: Buffer): boolean => this.read(read, buffer),
  };

  attach(socket: Socket, consume: Consumer): void {
    this.consumer = consume;
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    let more = true;
    for (const chunk of early) more = consume(chunk).more && more;
    // Reading may have stopped at EARLY_LIMIT. The stream need not flow: with onread, Node emits 'end' all the same.
    if (more) this.resume(socket);
    else socket.pause();
  }

  watch(socket: Socket, watch: (chunk: Buffer) => boolean): () => void {
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    let more = true;
    for (const chunk of early) if (more) more = watch(chunk);
    else this.keep(chunk);
    // Copies: the buffer read into is reused by the next read.
    const watcher: Consumer = (chunk) => delivery(watch(Buffer.from(chunk)), true);
    if (more) {
      this.consumer = watcher;
      this.resume(socket);
    } else {
      socket.pause();
    }
    return () => {
      if (this.consumer === watcher) this.consumer = null;
    };
  }

  private keep(chunk: Buffer): boolean {
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    return this.earlyBytes < EARLY_LIMIT;
  }

  /** Starts the handle reading again, without the stream's flowing machinery (a tick per call) that onread does not use. */
  resume(socket: Socket): void {
    socket.read(0);
  }

  /** Node's onread callback: false stops reading until the socket is resumed. */
  private read(read: number, buffer: Buffer): boolean {
    const consume = this.consumer;
    const buffers = this.buffers;
    if (consume !== null && buffers !== null && buffer !== SCRATCH) {
      const { more, released } = consume(buffer.subarray(0, read));
      buffers.next(read, more, released);
      return more;
    }
    // Read into the shared scratch buffer: copied out before anything else reads into it.
    const chunk = Buffer.from(buffer.subarray(0, read));
    if (consume === null) return this.keep(chunk);
    this.buffers = new ReadBuffers();
    return consume(chunk).more;
  }
}

/**
 * The same contract for a socket Node reads itself ('data' events, a fresh
 * buffer per read): accepted sockets where the takeover is unavailable.
 * Bytes Node read before attach wait in the stream and come first.
 */
export const STREAM_CHUNKS: ChunkSource = {
  attach(socket, consume) {
    socket.on('data', (chunk: Buffer) => {
      if (!consume(chunk).more) socket.pause();
    });
    socket.resume();
  },
  resume(socket) {
    socket.resume();
  },
  watch(socket, watch) {
    const onData = (chunk: Buffer): void => {
      if (!watch(chunk)) stop();
    };
    const stop = (): void => {
      socket.off('data', onData);
      socket.pause();
    };
    socket.on('data', onData);
    socket.resume();
    return stop;
  },
};

/**
 * `source`, with `chunks` (read from it earlier by `watch`) handed to the
 * consumer first: what a connection sent while it was looked at goes out
 * first and in order. A later `watch` is handed the chunks not yet passed on
 * first, and takes them (as `watch` takes what it is handed from any source),
 * so looking twice — a shared port routing a connection, then the group's
 * wake rules — sees every byte once and loses none.
 */
export function withPrefix(chunks: readonly Buffer[], source: ChunkSource): ChunkSource {
  if (chunks.length === 0) return source;
  let pending = [...chunks];
  return {
    attach(socket, consume) {
      const kept = pending;
      pending = [];
      let more = true;
      for (const chunk of kept) more = consume(chunk).more && more;
      source.attach(socket, consume);
      if (!more) socket.pause();
    },
    resume: (socket) => {
      source.resume(socket);
    },
    watch(socket, watch) {
      const kept = pending;
      let taken = 0;
      let more = true;
      while (more && taken < kept.length) more = watch(kept[taken++] as Buffer);
      pending = kept.slice(taken);
      if (!more) {
        socket.pause();
        return () => undefined;
      }
      return source.watch(socket, watch);
    },
  };
}
