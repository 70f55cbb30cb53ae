import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { abortable } from '../../src/core/abortable.js';

describe('abortable', () => {
  it('resolves with what the wait reports, and leaves no abort listener behind', async () => {
    const controller = new AbortController();
    let cleanups = 0;
    let report = (_value: string): void => undefined;
    const waiting = abortable<string>(controller.signal, (resolve) => {
      report = resolve;
      return () => cleanups++;
    });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    report('done');
    assert.equal(await waiting, 'done');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener left on a long-lived signal');
    controller.abort(new Error('too late'));
    assert.equal(cleanups, 0, 'an abort after the end cleans nothing up');
  });

  it('rejects with the signal\'s reason when it aborts first, and runs the cleanup once', async () => {
    const controller = new AbortController();
    let cleanups = 0;
    let report = (_value: string): void => undefined;
    const waiting = abortable<string>(controller.signal, (resolve) => {
      report = resolve;
      return () => cleanups++;
    });
    controller.abort(new Error('client left'));
    await assert.rejects(waiting, /client left/);
    report('late');
    assert.equal(cleanups, 1);
  });

  it('does not start waiting when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone before'));
    let started = false;
    await assert.rejects(
      abortable(controller.signal, () => {
        started = true;
        return undefined;
      }),
      /gone before/,
    );
    assert.equal(started, false);
  });

  it('passes on the wait\'s own failure, and works without a signal', async () => {
    await assert.rejects(
      abortable(undefined, (_resolve, reject) => {
        reject(new Error('refused'));
        return undefined;
      }),
      /refused/,
    );
  });
});
