import { spawnSync } from 'node:child_process';

/** Fetches a URL; resolves with the status and the body. */
export async function get(url: string): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
}

/** The value of one sample in Prometheus's text format, e.g. sample(text, 'proxytainer_wakes_total{group="g",result="ready"}'). */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{${LABEL}(?:,${LABEL})*\\})? ${VALUE}$`);
const COMMENT = new RegExp(`^# (?:HELP (${NAME}) .*|TYPE (${NAME}) (?:counter|gauge|histogram|summary|untyped))$`);

/**
 * Problems with a scrape by the text format's grammar (0.0.4): each line a
 * comment, a sample or blank; every sample's family declared by a TYPE line
 * before it; no family declared twice. What promtool would say, less its lint.
 */
export function formatProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const comment = COMMENT.exec(line);
    if (comment !== null) {
      const typed = comment[2];
      if (typed !== undefined) {
        if (types.has(typed)) problems.push(`line ${i + 1}: ${typed} declared twice`);
        types.set(typed, line.split(' ')[3] ?? '');
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) {
      problems.push(`line ${i + 1}: not a sample: ${line}`);
      continue;
    }
    const name = match[1] ?? '';
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    if (family === undefined) problems.push(`line ${i + 1}: ${name} has no TYPE line before it`);
  }
  return problems;
}

/** `promtool check metrics` on the text: null when promtool is not installed, else its exit status and what it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } | null {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error !== undefined) return null;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
