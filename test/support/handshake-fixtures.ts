import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/handshakes');

/** A recorded handshake from test/fixtures/handshakes (see its README for how each was captured). */
export function fixture(name: string): Buffer {
  return readFileSync(join(DIR, name));
}

export function fixtureNames(): string[] {
  return readdirSync(DIR)
    .filter((name) => name.endsWith('.bin'))
    .sort();
}

/**
 * A copy of `bytes` in the middle of a larger buffer with junk on both sides,
 * so a reader that forgets byteOffset or reads past the end shows it.
 */
export function embedded(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 14).fill(0xa5);
  backing.set(bytes, 7);
  return backing.subarray(7, 7 + bytes.length);
}

/**
 * The reader gives `expected` for the whole buffer (also when it sits inside a
 * larger one), and for every shorter prefix either need-more or that same
 * answer. The readers are stateless over all the bytes so far, so this covers
 * a split into any two TCP reads (the first read, then both) as well as a
 * truncation at any byte: neither changes anything but when the answer comes.
 */
export function assertEveryPrefix(read: (bytes: Uint8Array) => { readonly kind: string }, whole: Uint8Array, expected: unknown): void {
  assert.deepEqual(read(whole), expected);
  assert.deepEqual(read(embedded(whole)), expected);
  for (let cut = 0; cut < whole.length; cut++) {
    const first = read(whole.subarray(0, cut));
    if (first.kind !== 'need-more') assert.deepEqual(first, expected, `after ${cut} of ${whole.length} bytes`);
  }
}

/** The shortest prefix that gets a real answer: every shorter one was need-more. */
export function answeredAfter(read: (bytes: Uint8Array) => { readonly kind: string }, whole: Uint8Array): number {
  for (let cut = 0; cut <= whole.length; cut++) if (read(whole.subarray(0, cut)).kind !== 'need-more') return cut;
  return -1;
}

/** mulberry32: a small seeded generator, so a fuzz failure can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
