import type { StatusDocument } from '../control/status-document.js';
import { describeError } from '../core/errors.js';
import type { Terminal } from './terminal.js';

const ESC = '\u001b';
const HIDE_CURSOR = `${ESC}[?25l`;
const SHOW_CURSOR = `${ESC}[?25h`;
const HOME = `${ESC}[H`;
const CLEAR_SCREEN = `${ESC}[2J`;
const CLEAR_LINE_END = `${ESC}[K`;
const CLEAR_BELOW = `${ESC}[J`;

export interface WatchOptions {
  readonly json: boolean;
  readonly terminal: Terminal;
  readonly intervalMs: number;
  /** Resolves when the user asks to stop (Ctrl-C, SIGTERM). */
  readonly stop: Promise<unknown>;
  /** The table (and detail) for a document. */
  readonly render: (doc: StatusDocument) => string;
}

/** The document without what changes by itself every second, to tell a real change from the clock. */
function changeKey(doc: StatusDocument): string {
  return JSON.stringify({ ...doc, groups: doc.groups.map((group) => ({ ...group, sleepsInSeconds: null })) });
}

/**
 * `status --watch`: reads the status again every interval. On a terminal the
 * table is redrawn in place — cursor home, each line overwritten and cleared
 * to its end, then the rest of the screen — so nothing flickers; elsewhere,
 * and with --format json, a document is printed each time it changes (JSON
 * one per line). Ends when `stop` resolves; a read that fails after the first
 * is shown and retried.
 */
export async function watchStatus(read: () => Promise<StatusDocument>, options: WatchOptions): Promise<void> {
  const { terminal, json } = options;
  const redraw = terminal.outIsTty && !json;
  const stop = { requested: false };
  void options.stop.then(() => (stop.requested = true));
  let lastKey: string | null = null;
  let doc = await read(); // the first failure is the command's: it ends with the error
  let problem: string | null = null;
  if (redraw) terminal.out(HIDE_CURSOR + HOME + CLEAR_SCREEN);
  try {
    for (;;) {
      if (redraw) {
        const header = terminal.outStyle.dim(`Every ${options.intervalMs / 1000}s, ${new Date().toLocaleTimeString()}; Ctrl-C to stop${problem === null ? '' : `. Last update failed: ${problem}`}`);
        const frame = `${header}\n\n${options.render(doc)}`.replace(/\n$/, '');
        terminal.out(HOME + frame.split('\n').map((line) => line + CLEAR_LINE_END).join('\n') + CLEAR_BELOW);
      } else {
        const key = changeKey(doc);
        if (key !== lastKey) terminal.out(json ? `${JSON.stringify(doc)}\n` : `${options.render(doc)}\n`);
        lastKey = key;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([options.stop, new Promise((resolve) => (timer = setTimeout(resolve, options.intervalMs)))]);
      clearTimeout(timer);
      if (stop.requested) return;
      try {
        doc = await read();
        problem = null;
      } catch (error) {
        problem = describeError(error);
        if (!redraw) terminal.err(`status --watch: ${problem}; trying again\n`);
      }
    }
  } finally {
    if (redraw) terminal.out(`${SHOW_CURSOR}\n`);
  }
}
