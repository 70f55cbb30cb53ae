import { normalizeHostName } from './host-name.js';
import { formatHostnamePattern, type HostnamePattern } from './hostname-pattern.js';

/** A pattern two different routes claimed; the first claim keeps it. */
export interface HostnameConflict<R> {
  /** As a person writes it: `app.example.com`, `*.example.com`. */
  readonly pattern: string;
  readonly kept: R;
  readonly refused: R;
}

/**
 * Maps host names to routes (a group, say) for a port that several groups
 * share. Precedence, most specific first:
 *   1. an exact name;
 *   2. the wildcard with the longest suffix: `*.b.example.com` beats
 *      `*.example.com` for `a.b.example.com`;
 *   3. nothing: an unknown or missing name wakes nothing.
 * `*.example.com` matches any depth below example.com, never example.com itself.
 *
 * Two routes claiming the same pattern is the caller's label problem: `add`
 * keeps the first claim and returns the conflict, so adding claims oldest
 * first makes "the oldest container wins". The same route claiming a pattern
 * twice is not a conflict. Routes are compared with ===.
 */
export class HostnameTable<R> {
  private readonly exact = new Map<string, R>();
  private readonly wildcards = new Map<string, R>();

  /** Adds a claim; returns the conflict when another route already holds the pattern. */
  add(pattern: HostnamePattern, route: R): HostnameConflict<R> | null {
    const [map, key] = pattern.kind === 'exact' ? [this.exact, pattern.name] : [this.wildcards, pattern.suffix];
    const held = map.get(key);
    if (held === undefined) {
      map.set(key, route);
      return null;
    }
    if (held === route) return null;
    return { pattern: formatHostnamePattern(pattern), kept: held, refused: route };
  }

  /**
   * The route for a name read off the wire (any case, trailing dot or not);
   * undefined for null, a non-name, or a name nobody claimed.
   */
  lookup(name: string | null): R | undefined {
    if (name === null) return undefined;
    const normal = normalizeHostName(name);
    if (normal === null) return undefined;
    const exact = this.exact.get(normal);
    if (exact !== undefined) return exact;
    // Longest suffix first: drop one label at a time from the left.
    for (let dot = normal.indexOf('.'); dot !== -1; dot = normal.indexOf('.', dot + 1)) {
      const route = this.wildcards.get(normal.slice(dot + 1));
      if (route !== undefined) return route;
    }
    return undefined;
  }

  /** Every claimed pattern with its route, exact names first, for status and logs. */
  entries(): [string, R][] {
    return [
      ...[...this.exact].map(([name, route]): [string, R] => [name, route]),
      ...[...this.wildcards].map(([suffix, route]): [string, R] => [`*.${suffix}`, route]),
    ];
  }
}
