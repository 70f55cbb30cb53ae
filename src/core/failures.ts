import { describeError } from './errors.js';

/**
 * Runs `action` on every item at once and waits for all of them; resolves
 * with one `name: reason` line per item that failed (none when all succeeded).
 */
export async function failuresOf<T>(items: readonly T[], name: (item: T) => string, action: (item: T) => Promise<unknown>): Promise<string[]> {
  const results = await Promise.allSettled(items.map(action));
  return results.flatMap((result, i) => {
    const item = items[i];
    return result.status === 'rejected' && item !== undefined ? [`${name(item)}: ${describeError(result.reason)}`] : [];
  });
}
