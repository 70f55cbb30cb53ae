import { asciiHostName, hostNameProblem } from './host-name.js';

/**
 * One entry of `proxytainer.hostname=NAME[,NAME…]` (or a `--hostname` flag):
 * an exact name, or `*.example.com`, which matches every name that ends in
 * `.example.com` — `a.example.com` and `a.b.example.com` alike — but not
 * `example.com` itself (list both to serve both). nginx's `server_name
 * *.example.com` matches the same way.
 */
export type HostnamePattern =
  | { readonly kind: 'exact'; readonly name: string }
  /** `suffix` is what follows `*.`, e.g. `example.com`. */
  | { readonly kind: 'wildcard'; readonly suffix: string };

const EXAMPLE = 'use a name like app.example.com, or *.example.com for every name under example.com';

/**
 * Reads one pattern. Case, a trailing dot and surrounding spaces do not matter;
 * Unicode names are stored in their xn-- form. Throws an Error whose message
 * quotes the text, says what is wrong and what a valid one looks like.
 */
export function parseHostnamePattern(text: string): HostnamePattern {
  const bad = (why: string): Error => new Error(`"${text}" is not a host name: ${why}; ${EXAMPLE}`);
  const trimmed = text.trim();
  if (trimmed.length === 0) throw bad('it is empty');
  if (trimmed.includes('://') || trimmed.includes('/')) throw bad('give the name alone, without a scheme or path');
  if (trimmed.includes(':')) throw bad('give the name alone, without a port (the port comes from proxytainer.port)');
  if (trimmed === '*' || trimmed === '*.') throw bad('"*" alone would match every name');
  const wildcard = trimmed.startsWith('*.');
  const name = asciiHostName(wildcard ? trimmed.slice(2) : trimmed);
  if (name.includes('*')) throw bad('a wildcard must be the whole first label, as in *.example.com');
  const problem = hostNameProblem(name);
  if (problem !== null) throw bad(problem);
  return wildcard ? { kind: 'wildcard', suffix: name } : { kind: 'exact', name };
}

/** The pattern as a person writes it: `app.example.com`, `*.example.com`. */
export function formatHostnamePattern(pattern: HostnamePattern): string {
  return pattern.kind === 'exact' ? pattern.name : `*.${pattern.suffix}`;
}
