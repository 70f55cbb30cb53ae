/**
 * The one table `npm run bench` ends with: a row per measure, a column per
 * contender, proxytainer's ratios, the target and whether it was met.
 */
import type { ContenderName } from './contenders.js';
import { CONTENDERS } from './contenders.js';

export interface Row {
  readonly measure: string;
  readonly values: Partial<Record<ContenderName, string>>;
  /** proxytainer / direct (for cold wake: / the floor). */
  readonly ratio?: string;
  /** proxytainer / systemd-socket-proxyd: the bar to chase. */
  readonly vsBar?: string;
  readonly target?: string;
  /** `yes`, `NO`, `n/a` or `-`, optionally with the figure that decided it. */
  readonly met?: string;
}

export interface SectionResult {
  readonly rows: Row[];
  /** What broke the section (a tool that would not start, a run that failed): the bench exits non-zero. */
  readonly problems: string[];
  /** Remarks printed under the table. */
  readonly notes: string[];
}

export function emptySection(): SectionResult {
  return { rows: [], problems: [], notes: [] };
}

export function verdict(met: boolean | null, detail = ''): string {
  const word = met === null ? 'n/a' : met ? 'yes' : 'NO';
  return detail === '' ? word : `${word} (${detail})`;
}

const HEADERS = ['measure', ...CONTENDERS, 'proxytainer/direct', 'proxytainer/systemd-socket-proxyd', 'target', 'met?'];

/** A Markdown table, columns padded so it also reads well in a terminal. */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((row) => [
    row.measure,
    ...CONTENDERS.map((name) => row.values[name] ?? '-'),
    row.ratio ?? '-',
    row.vsBar ?? '-',
    row.target ?? '-',
    row.met ?? '-',
  ]);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...cells.map((line) => (line[i] ?? '').length)));
  const line = (values: readonly string[]): string => `| ${values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(HEADERS), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const started = performance.now();

/** A progress line on stderr, with the seconds since the bench began. */
export function progress(section: string, message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${section}: ${message}\n`);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
