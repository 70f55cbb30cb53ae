export const MIN_READ = 1024;
export const MAX_READ = 1024 * 1024;
/** Reads stay at most this big while the other side does not keep up, so a slow client pins little memory. */
export const SLOW_READ = 64 * 1024;
/** Reads in a row that use less than a quarter of the buffer before it first shrinks. */
export const SHRINK_AFTER = 16;
/** The most reads in a row it ever waits for: a connection that grows back after each shrink waits twice as long each time. */
export const MAX_SHRINK_AFTER = 1024;
/** Writes in a row that the other side pushed back on before reads drop to SLOW_READ. */
export const SLOW_AFTER = 4;

/**
 * The buffers one connection reads into. The same one while each chunk is
 * written out at once; doubled while reads fill it, up to MAX_READ; shrunk to
 * fit once reads have stayed small for a run of reads, not at the first small
 * one, and a run twice as long each time it had to grow back: a bulk transfer
 * whose read sizes vary would otherwise churn through fresh megabytes (each
 * allocation page-faulted in, their pressure bringing on major GCs). A buffer whose chunk is still queued for
 * writing is never read into: when reading stops until the queue drains (the
 * other side pushed back) it is free again by the next read; when reading
 * goes on, the next read gets a new, small buffer.
 */
export class ReadBuffers {
  private current: Buffer;
  private smallReads = 0;
  private largestSmall = 0;
  private shrinkAfter = SHRINK_AFTER;
  private shrunk = false;
  private pushbacks = 0;

  constructor(size = MIN_READ) {
    this.current = Buffer.allocUnsafe(size);
  }

  /** The buffer to read into now. */
  get buffer(): Buffer {
    return this.current;
  }

  /**
   * After `read` bytes went into the buffer and their chunk was handed on:
   * `more`, reading goes on now (false: it stops until everything queued is
   * written); `released`, nothing is queued. Returns the buffer for the next read.
   */
  next(read: number, more: boolean, released: boolean): Buffer {
    const buffer = this.current;
    if (!released) {
      this.smallReads = 0;
      if (more) {
        this.current = Buffer.allocUnsafe(Math.min(buffer.length, SLOW_READ));
      } else if (++this.pushbacks >= SLOW_AFTER && buffer.length > SLOW_READ) {
        this.current = Buffer.allocUnsafe(SLOW_READ); // the other side keeps pushing back: it is slow, not busy for a moment
      }
      return this.current;
    }
    this.pushbacks = 0;
    if (read === buffer.length) {
      this.smallReads = 0;
      if (buffer.length < MAX_READ) {
        this.current = Buffer.allocUnsafe(buffer.length * 2);
        if (this.shrunk) this.shrinkAfter = Math.min(2 * this.shrinkAfter, MAX_SHRINK_AFTER);
        this.shrunk = false;
      }
    } else if (read < buffer.length / 4 && buffer.length > MIN_READ) {
      this.largestSmall = this.smallReads === 0 ? read : Math.max(this.largestSmall, read);
      if (++this.smallReads >= this.shrinkAfter) {
        this.smallReads = 0;
        this.shrunk = true;
        this.current = Buffer.allocUnsafe(Math.max(MIN_READ, ceilPowerOfTwo(2 * this.largestSmall)));
      }
    } else {
      this.smallReads = 0;
    }
    return this.current;
  }
}

function ceilPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}
