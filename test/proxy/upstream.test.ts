import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Timer } from '../../src/core/clock.js';
import { connectWithRetry, FIRST_RETRY_MS, MAX_RETRY_MS } from '../../src/core/upstream.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort } from '../support/net.js';
import { until } from '../support/until.js';

describe('connectWithRetry', () => {
  it('retries with a short backoff that doubles up to a cap, until the deadline, then says what it tried', async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    const recording = Object.assign(Object.create(clock) as FakeClock, {
      setTimer(ms: number, callback: () => void): Timer {
        waits.push(ms);
        return clock.setTimer(ms, callback);
      },
    });
    const target = { host: '127.0.0.1', port: await freePort() };
    const result: { error: unknown } = { error: null };
    void connectWithRetry(target, { deadline: 3_000, clock: recording, signal: new AbortController().signal }).catch((error: unknown) => (result.error = error));
    // Each attempt is a real connect, refused at once; the wait after it is on the fake clock.
    while (result.error === null) {
      await until(() => clock.timers > 0 || result.error !== null, `attempt ${waits.length + 1} is refused`);
      if (clock.timers > 0) await clock.advance(waits[waits.length - 1] ?? 0);
    }
    const outcome = result.error;
    assert.ok(outcome instanceof Error);
    assert.match(outcome.message, new RegExp(`^upstream 127\\.0\\.0\\.1:${target.port} did not accept a connection in \\d+ms \\(${waits.length + 1} attempt\\(s\\); last error: connect ECONNREFUSED`));
    assert.deepEqual(waits.slice(0, 7), [FIRST_RETRY_MS, 20, 40, 80, 160, 320, MAX_RETRY_MS]);
    assert.ok(waits.slice(7).every((ms) => ms === MAX_RETRY_MS), `capped at ${MAX_RETRY_MS}ms: ${waits.join(',')}`);
    const waited = waits.reduce((sum, ms) => sum + ms, 0);
    assert.ok(waited < 3_000 && waited + MAX_RETRY_MS >= 3_000, `retries fill the time up to the deadline: ${waits.join(',')}`);
  });
});
