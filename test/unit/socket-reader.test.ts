import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_READ, MIN_READ, nextReadBuffer, SLOW_READ } from '../../src/core/socket-reader.js';

describe('the upstream read buffer', () => {
  it('is reused while chunks are written out at once and reads do not fill it', () => {
    const buffer = Buffer.alloc(16 * 1024);
    assert.equal(nextReadBuffer(buffer, 8 * 1024, true), buffer);
  });
  it('doubles while reads fill it, up to 1 MiB', () => {
    assert.equal(nextReadBuffer(Buffer.alloc(MIN_READ), MIN_READ, true).length, 2 * MIN_READ);
    const max = Buffer.alloc(MAX_READ);
    assert.equal(nextReadBuffer(max, MAX_READ, true), max);
  });
  it('halves while reads use less than a quarter of it, down to 1 KiB', () => {
    assert.equal(nextReadBuffer(Buffer.alloc(64 * 1024), 100, true).length, 32 * 1024);
    const min = Buffer.alloc(MIN_READ);
    assert.equal(nextReadBuffer(min, 1, true), min);
  });
  it('is never read into again while its chunk waits to be written, and stays small for a slow client', () => {
    const big = Buffer.alloc(MAX_READ);
    const next = nextReadBuffer(big, MAX_READ, false);
    assert.notEqual(next, big);
    assert.equal(next.length, SLOW_READ);
    const small = Buffer.alloc(MIN_READ);
    assert.notEqual(nextReadBuffer(small, MIN_READ, false), small);
  });
});
