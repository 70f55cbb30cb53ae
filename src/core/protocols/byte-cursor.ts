import { ParseError } from './parse-error.js';

/**
 * Reads big-endian fields from a complete message. Running past `end` means a
 * length field lied, so every read that does not fit throws ParseError naming
 * the field; the sniffer turns that into `malformed`.
 */
export class ByteCursor {
  offset: number;
  readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    end = bytes.length,
  ) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** A cursor over the next `length` bytes, which this one then skips. */
  sub(length: number, what: string): ByteCursor {
    const start = this.offset;
    this.skip(length, what);
    return new ByteCursor(this.bytes, start, start + length);
  }

  take(length: number, what: string): Uint8Array {
    const start = this.offset;
    this.skip(length, what);
    return this.bytes.subarray(start, start + length);
  }

  skip(length: number, what: string): void {
    if (length < 0 || length > this.remaining) throw new ParseError(`${what} runs past the end of its message`);
    this.offset += length;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++] ?? 0;
  }

  u16(what: string): number {
    this.need(2, what);
    const b = this.bytes;
    const value = ((b[this.offset] ?? 0) << 8) | (b[this.offset + 1] ?? 0);
    this.offset += 2;
    return value;
  }

  u24(what: string): number {
    this.need(3, what);
    const b = this.bytes;
    const value = ((b[this.offset] ?? 0) << 16) | ((b[this.offset + 1] ?? 0) << 8) | (b[this.offset + 2] ?? 0);
    this.offset += 3;
    return value;
  }

  u32(what: string): number {
    const high = this.u16(what);
    return high * 0x10000 + this.u16(what);
  }

  private need(length: number, what: string): void {
    if (length > this.remaining) throw new ParseError(`${what} runs past the end of its message`);
  }
}
