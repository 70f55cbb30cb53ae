const UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses a size in bytes: a whole number (`1048576`) or a number with a unit,
 * decimal (`500k`, `1MB`) or binary (`64KiB`, `1MiB`), in any case. Throws an
 * Error that says what a valid size looks like.
 */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = UNIT_BYTES[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) throw new Error(`"${text}" is not a size; use bytes (1048576) or a number with k, M, G, KiB, MiB or GiB (512k, 1MiB)`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(Math.round(bytes))) throw new Error(`"${text}" is too large`);
  return Math.round(bytes);
}
