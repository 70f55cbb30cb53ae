import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_READ, MAX_SHRINK_AFTER, MIN_READ, ReadBuffers, SHRINK_AFTER, SLOW_AFTER, SLOW_READ } from '../../src/core/read-buffers.js';

/** Identity, asserted without printing two megabyte buffers when it fails. */
function same(actual: Buffer, expected: Buffer, message = 'the same buffer'): void {
  assert.ok(actual === expected, `${message} (got ${actual.length} bytes, expected the ${expected.length}-byte one)`);
}

function other(actual: Buffer, than: Buffer, message = 'another buffer'): void {
  assert.ok(actual !== than, message);
}

describe('ReadBuffers', () => {
  it('reuses its buffer while chunks are written out at once and reads do not fill it', () => {
    const buffers = new ReadBuffers(16 * 1024);
    const first = buffers.buffer;
    same(buffers.next(8 * 1024, true, true), first);
  });

  it('doubles while reads fill it, up to 1 MiB', () => {
    const buffers = new ReadBuffers(MIN_READ);
    assert.equal(buffers.next(MIN_READ, true, true).length, 2 * MIN_READ);
    const max = new ReadBuffers(MAX_READ);
    const full = max.buffer;
    same(max.next(MAX_READ, true, true), full);
  });

  it('shrinks to fit only after reads stayed small for a while, so varying bulk reads do not churn buffers', () => {
    const buffers = new ReadBuffers(MAX_READ);
    const big = buffers.buffer;
    for (let i = 1; i < SHRINK_AFTER; i++) same(buffers.next(100, true, true), big, `still the same after ${i} small reads`);
    same(buffers.next(MAX_READ / 2, true, true), big, 'a read of a fair size starts the count again');
    for (let i = 1; i < SHRINK_AFTER; i++) buffers.next(300, true, true);
    const small = buffers.next(100, true, true);
    assert.equal(small.length, 1024, 'fits twice the largest of the small reads, at least MIN_READ');
    const min = new ReadBuffers(MIN_READ);
    const least = min.buffer;
    for (let i = 0; i < 2 * SHRINK_AFTER; i++) same(min.next(1, true, true), least, 'never below MIN_READ');
  });

  it('waits twice as long before shrinking again each time it had to grow back (bulk reads of varying size), up to a cap', () => {
    const buffers = new ReadBuffers(4 * MIN_READ);
    const runs: number[] = [];
    for (let cycle = 0; cycle < 9; cycle++) {
      const before = buffers.buffer;
      let reads = 0;
      while (buffers.next(MIN_READ / 2, true, true) === before && reads < 2 * MAX_SHRINK_AFTER) reads++;
      runs.push(reads + 1);
      while (buffers.buffer.length < 4 * MIN_READ) buffers.next(buffers.buffer.length, true, true); // a bulk read fills it: it grows back
    }
    assert.deepEqual(runs, [SHRINK_AFTER, 2 * SHRINK_AFTER, 4 * SHRINK_AFTER, 8 * SHRINK_AFTER, 16 * SHRINK_AFTER, 32 * SHRINK_AFTER, 64 * SHRINK_AFTER, MAX_SHRINK_AFTER, MAX_SHRINK_AFTER]);
  });

  it('never reads into a buffer whose chunk is queued while reading goes on', () => {
    const buffers = new ReadBuffers(MAX_READ);
    const big = buffers.buffer;
    const next = buffers.next(MAX_READ, true, false);
    other(next, big);
    assert.equal(next.length, SLOW_READ);
    other(buffers.next(SLOW_READ, true, false), next, 'still queued: yet another buffer');
  });

  it('keeps its buffer when reading stops until the queue drains, and drops to small reads once the other side keeps pushing back', () => {
    const buffers = new ReadBuffers(MAX_READ);
    const big = buffers.buffer;
    for (let i = 1; i < SLOW_AFTER; i++) same(buffers.next(MAX_READ, false, false), big, 'free again by the next read: no new buffer');
    same(buffers.next(MAX_READ, true, true), big, 'a write taken at once starts the count again');
    for (let i = 1; i < SLOW_AFTER; i++) buffers.next(MAX_READ, false, false);
    assert.equal(buffers.next(MAX_READ, false, false).length, SLOW_READ, 'a slow client pins little memory');
  });
});
