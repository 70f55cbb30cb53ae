import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_QUEUE_OPTIONS, WebhookQueue } from '../../src/webhooks/webhook-queue.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { MemoryLogger } from '../support/memory-logger.js';

/** A queue whose sends are answered by `answer`; each attempt is recorded with the fake time it was made at. */
function setup(answer: (body: string, signal: AbortSignal) => Promise<number>) {
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const attempts: { body: string; at: number }[] = [];
  const queue = new WebhookQueue(
    'http://receiver/hook',
    (body, signal) => {
      attempts.push({ body, at: clock.now() });
      return answer(body, signal);
    },
    DEFAULT_QUEUE_OPTIONS,
    { clock, logger },
  );
  return { clock, logger, attempts, queue };
}

function refused(): Promise<number> {
  return Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') }));
}
/** A receiver that never answers: the attempt ends only when its signal aborts (the timeout). */
function hangs(_body: string, signal: AbortSignal): Promise<number> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      reject(signal.reason as Error);
    });
  });
}

describe('WebhookQueue', () => {
  it('a receiver that is down is retried after 1, 2, 4, 8 and 16 s, then the change is given up, counted and logged', async () => {
    const { clock, logger, attempts, queue } = setup(refused);
    queue.push('a');
    await clock.advance(60_000);
    assert.deepEqual(attempts.map((a) => a.at), [0, 1000, 3000, 7000, 15_000, 31_000]);
    assert.deepEqual({ delivered: queue.delivered, failed: queue.failed, dropped: queue.dropped }, { delivered: 0, failed: 1, dropped: 0 });
    assert.deepEqual(logger.matching(/gave up/), ['warn webhook http://receiver/hook: gave up on 1 state change(s) after 6 attempts; last: connect ECONNREFUSED 127.0.0.1:9']);
  });

  it('a receiver that never answers times out after 5 s and is retried', async () => {
    const { clock, attempts, queue } = setup(hangs);
    queue.push('a');
    await clock.advance(5000 + 1000 + 5000);
    assert.deepEqual(attempts.map((a) => a.at), [0, 6000]);
    assert.equal(queue.failed, 0, 'still retrying');
  });

  it('a 4xx is not retried; a 429 and a 5xx are', async () => {
    const statuses = [404, 429, 503, 200];
    const { clock, attempts, queue } = setup(() => Promise.resolve(statuses.shift() ?? 200));
    queue.push('a');
    queue.push('b');
    await clock.advance(10_000);
    assert.deepEqual(attempts.map((a) => `${a.body}@${a.at}`), ['a@0', 'b@0', 'b@1000', 'b@3000']);
    assert.deepEqual({ delivered: queue.delivered, failed: queue.failed }, { delivered: 1, failed: 1 });
  });

  it('changes go out one at a time, in order, a retried one before those behind it', async () => {
    let failFirst = 2;
    const { clock, attempts, queue } = setup((body) => Promise.resolve(body === 'a' && failFirst-- > 0 ? 500 : 204));
    for (const body of ['a', 'b', 'c']) queue.push(body);
    await clock.advance(10_000);
    assert.deepEqual(attempts.map((a) => a.body), ['a', 'a', 'a', 'b', 'c']);
    assert.equal(queue.delivered, 3);
  });

  it('a full queue drops new changes at once, without waiting', async () => {
    const { queue } = setup(hangs);
    for (let i = 0; i < DEFAULT_QUEUE_OPTIONS.capacity + 7; i++) queue.push(String(i));
    await settle();
    assert.equal(queue.dropped, 7);
    assert.equal(queue.length, DEFAULT_QUEUE_OPTIONS.capacity);
    queue.close();
  });
});
