import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { watchStatus } from '../../src/cli/status-watch.js';
import type { Terminal } from '../../src/cli/terminal.js';
import type { GroupStatus, StatusDocument } from '../../src/control/status-document.js';

const plain = new Chalk({ level: 0 });

function terminal(tty: boolean): { terminal: Terminal; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    terminal: {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      outIsTty: tty,
      errIsTty: tty,
      outStyle: plain,
      errStyle: plain,
      withProgress: (_text, task) => task({ update: () => undefined, succeed: () => undefined, fail: () => undefined }),
    },
  };
}

function doc(state: GroupStatus['state'], sleepsInSeconds: number | null): StatusDocument {
  const group = { name: 'g', proxy: 1, state, sleepsInSeconds } as unknown as GroupStatus;
  return { schemaVersion: 1, proxies: [], groups: [group], problems: [], notes: [], docker: null };
}

/** Reads the given documents one after another; once they run out, asks to stop. */
function script(docs: readonly (StatusDocument | Error)[]): { read: () => Promise<StatusDocument>; stop: Promise<void> } {
  let i = 0;
  let stop = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  return {
    stop: stopped,
    read: () => {
      const next = docs[i++];
      if (i >= docs.length) stop();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? doc('Idle', null));
    },
  };
}

describe('status --watch', () => {
  it('with --format json: one compact document a line, only when something changed (the countdown alone is no change)', async () => {
    const { terminal: t, out } = terminal(false);
    const { read, stop } = script([doc('Idle', null), doc('Idle', null), doc('Running', 300), doc('Running', 299), doc('Running', 298), doc('Idle', null)]);
    await watchStatus(read, { json: true, terminal: t, intervalMs: 1, stop, render: () => 'table' });
    assert.deepEqual(out.map((line) => (JSON.parse(line) as StatusDocument).groups[0]?.state), ['Idle', 'Running', 'Idle']);
    assert.ok(out.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n')));
  });

  it('on a terminal: cleared once, then every frame drawn from the top over the last, each line cleared to its end; the cursor hidden, then shown at the end', async () => {
    const { terminal: t, out } = terminal(true);
    const { read, stop } = script([doc('Idle', null), doc('Running', 300), doc('Running', 299)]);
    await watchStatus(read, { json: false, terminal: t, intervalMs: 1, stop, render: (d) => `GROUP STATE\ng     ${d.groups[0]?.state ?? ''}\n` });
    const screen = out.join('');
    assert.equal(screen.split('\u001b[2J').length - 1, 1, 'one clear, at the start');
    assert.ok(screen.startsWith('\u001b[?25l'));
    assert.ok(screen.endsWith('\u001b[?25h\n'));
    const frames = screen.split('\u001b[H').slice(2);
    assert.ok(frames.length >= 2, `${frames.length} frames`);
    assert.ok((frames.at(-1) ?? '').includes('g     Running\u001b[K\u001b[J'), JSON.stringify(frames.at(-1)));
  });

  it('a read that fails after the first is reported and retried; the first failure is the command\'s', async () => {
    const { terminal: t, out, err } = terminal(false);
    const { read, stop } = script([doc('Idle', null), new Error('the proxy went away'), doc('Running', 1)]);
    await watchStatus(read, { json: true, terminal: t, intervalMs: 1, stop, render: () => '' });
    assert.equal(out.length, 2);
    assert.deepEqual(err, ['status --watch: the proxy went away; trying again\n']);
    await assert.rejects(watchStatus(() => Promise.reject(new Error('no engine')), { json: true, terminal: t, intervalMs: 1, stop: new Promise(() => undefined), render: () => '' }), /no engine/);
  });
});
