import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT } from '../support/paths.js';

const TIMEOUT_MS = 20_000;

/** Single-quotes a word for sh. */
const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * Runs the built CLI under a real pseudo-terminal (util-linux `script`), as a
 * user at a terminal would: stderr is a TTY, so the spinner runs. Resolves
 * with everything the terminal showed, or with `timedOut` when the command
 * did not end (it is killed then).
 */
function onTerminal(args: readonly string[], env: NodeJS.ProcessEnv, columns: number): Promise<{ code: number | null; screen: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const rest = { ...process.env };
    delete rest['CI']; // a spinner never runs under CI
    // `script` gives the pty no size when it has no terminal itself; stty sets one, as a real terminal has.
    const command = `stty cols ${columns} rows 24; exec ${[BIN, ...args].map(quote).join(' ')}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...rest, TERM: 'xterm', PROXYTAINER_LOG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let screen = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    }, TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen, timedOut });
    });
  });
}

/** Cursor movement and line erasing: what a spinner redraws with. */
const ESC = '\u001b';
const REDRAW = new RegExp(`${ESC}\\[\\d*[AGK]`);

/** What stays on screen after the spinner's last redraw, without colours. */
function afterLastRedraw(screen: string): string {
  return (screen.split(new RegExp(REDRAW, 'g')).at(-1) ?? '').replace(new RegExp(`${ESC}\\[[\\d;?]*[a-zA-Z]`, 'g'), '');
}

describe('progress on a real terminal', () => {
  const unreachable = { DOCKER_HOST: 'tcp://127.0.0.1:1', PROXYTAINER_CONTROL_SOCKET: join(mkdtempSync(join(tmpdir(), 'pt-term-')), 'none.sock') };

  for (const command of ['wake', 'sleep']) {
    it(`${command}: a failure after the spinner started stops it, exits 1, and leaves the error on screen`, async () => {
      const { code, screen, timedOut } = await onTerminal([command, 'x'], unreachable, 80);
      assert.equal(timedOut, false, `'${command}' did not exit within ${TIMEOUT_MS}ms; the terminal showed ${screen.length} characters`);
      assert.match(screen, new RegExp(`${command === 'wake' ? 'Waking' : 'Stopping'} x`), 'the spinner ran');
      assert.equal(code, 1);
      assert.ok(screen.length < 20_000, `the spinner kept drawing: ${screen.length} characters`);
      assert.match(afterLastRedraw(screen), /error: cannot reach Docker at tcp:\/\/127\.0\.0\.1:1: connection refused/);
    });
  }

  it('a terminal that reports no width gets plain lines, not an endless redraw', async () => {
    const { code, screen, timedOut } = await onTerminal(['wake', 'x'], unreachable, 0);
    assert.equal(timedOut, false, `did not exit within ${TIMEOUT_MS}ms; the terminal showed ${screen.length} characters`);
    assert.equal(code, 1);
    assert.doesNotMatch(screen, REDRAW, 'no redrawing on a terminal without a width');
    assert.match(afterLastRedraw(screen), /error: cannot reach Docker at tcp:\/\/127\.0\.0\.1:1/);
  });
});
