const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a duration: plain seconds (`300`, `1.5`) or number-unit pairs
 * (`500ms`, `30s`, `5m`, `1h`, `1h30m`). Returns milliseconds, or throws an
 * Error whose message says what a valid duration looks like.
 */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < value.length) {
    const at = PART.lastIndex;
    const match = PART.exec(value);
    if (match === null || match.index !== at) {
      throw new Error(`"${text}" is not a duration; use seconds (300) or a number with ms, s, m or h (500ms, 30s, 5m, 1h)`);
    }
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  }
  if (value.length === 0) throw new Error('a duration cannot be empty; use seconds (300) or 500ms, 30s, 5m, 1h');
  return Math.round(total);
}

/** Formats milliseconds the way a person would write them: 250ms, 30s, 5m, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const seconds = ms / 1000;
    return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  }
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 ? `${s}s` : ''].join('');
}
