import { domainToASCII } from 'node:url';

/**
 * Host names as proxytainer compares them: ASCII, lower case, without the
 * trailing dot of a fully qualified name (`App.Example.COM.` is
 * `app.example.com`). Names given by people may be Unicode and are turned into
 * their xn-- form; names read off the wire (SNI, Host, a Minecraft handshake)
 * are already ASCII, and anything else there is not a name.
 */

const MAX_NAME = 253;
const MAX_LABEL = 63;
const LABEL = /^[a-z0-9_-]+$/;

/**
 * Why `name` (already lower case, no trailing dot) is not a host name, or null
 * when it is one. Letters, digits, `-` and `_` (Docker names have them) in
 * dot-separated labels of 1 to 63 characters, 253 at most in all.
 */
export function hostNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_NAME) return `it is ${name.length} characters long, and a host name has at most ${MAX_NAME}`;
  for (const label of name.split('.')) {
    if (label.length === 0) return 'it has an empty label (two dots in a row, or a dot at the start)';
    if (label.length > MAX_LABEL) return `its label "${label.slice(0, 20)}…" is ${label.length} characters long, and a label has at most ${MAX_LABEL}`;
    if (!LABEL.test(label)) {
      const bad = /[^a-z0-9_-]/.exec(label)?.[0] ?? '';
      return `${JSON.stringify(bad)} is not allowed in a host name; use letters, digits, "-" and "." only`;
    }
    if (label.startsWith('-') || label.endsWith('-')) return `its label "${label}" starts or ends with "-"`;
  }
  return null;
}

/**
 * A name read off the wire, in the form proxytainer compares: lower case, one
 * trailing dot removed. Null when it is not a host name (empty, non-ASCII,
 * spaces, a port), so it routes nowhere.
 */
export function normalizeHostName(raw: string): string | null {
  let name = raw.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  return hostNameProblem(name) === null ? name : null;
}

/**
 * A name a person gave (label or flag), in compared form: trimmed, Unicode
 * turned into xn--, lower case, one trailing dot removed. Text that is no
 * valid Unicode name comes back as it was, for hostNameProblem to name.
 */
export function asciiHostName(text: string): string {
  let name = text.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  // domainToASCII('') and invalid IDNs give ''; keep the original so the message can show it.
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii !== '') return ascii;
  }
  return name;
}
