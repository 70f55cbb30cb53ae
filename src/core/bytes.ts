const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_024 ** 2,
  gib: 1_024 ** 3,
};

/**
 * Parses an amount of bytes: a whole number (`500`), or a number with a unit
 * (`1kB`, `1.5MB`, `2MiB`; kB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024).
 * Throws an Error that shows valid forms.
 */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = UNITS[(match?.[2] ?? '').toLowerCase() || 'b'];
  if (match === null || unit === undefined || (match[2] !== '' && !/^(B|[kKMG]i?B)$/.test(match[2] ?? ''))) {
    throw new Error(`"${text}" is not an amount of bytes; write it like 500, 1kB, 1.5MB or 2MiB`);
  }
  return Math.round(Number(match[1]) * unit);
}

/** Bytes as people read them: 950 B, 1.2 kB, 3.4 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
}
