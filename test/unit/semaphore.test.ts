import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from '../../src/core/semaphore.js';
import { settle } from '../support/fake-clock.js';

describe('Semaphore', () => {
  it('lets `limit` holders in at once and the rest in order as places are given back', async () => {
    const gate = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([gate.acquire(), gate.acquire()]);
    const third = gate.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const fourth = gate.acquire().then((release) => {
      order.push(4);
      return release;
    });
    await settle();
    assert.deepEqual(order, []);
    releases[0]();
    releases[0](); // giving a place back twice frees it once
    await settle();
    assert.deepEqual(order, [3]);
    releases[1]();
    await settle();
    assert.deepEqual(order, [3, 4]);
    (await third)();
    (await fourth)();
    const again = await Promise.all([gate.acquire(), gate.acquire()]);
    assert.equal(again.length, 2);
  });

  it('a waiter whose signal aborts leaves the queue', async () => {
    const gate = new Semaphore(1);
    const first = await gate.acquire();
    const abort = new AbortController();
    const gone = gate.acquire(abort.signal);
    const next = gate.acquire();
    abort.abort(new Error('client left'));
    await assert.rejects(gone, /client left/);
    first();
    (await next)();
  });

  it('gives a place without waiting while there is one, and nothing (no queueing) when there is none', async () => {
    const gate = new Semaphore(1);
    const first = gate.tryAcquire();
    assert.ok(first !== null);
    assert.equal(gate.tryAcquire(), null, 'full: no place, and no place taken');
    const waiter = gate.acquire();
    first();
    const second = await waiter; // the place went to the one waiting, not to a later tryAcquire
    assert.equal(gate.tryAcquire(), null);
    second();
    const third = gate.tryAcquire();
    assert.ok(third !== null);
    third();
  });

  it('a waiter that left the queue does not take a place given back later', async () => {
    const gate = new Semaphore(1);
    const first = await gate.acquire();
    const abort = new AbortController();
    const gone = gate.acquire(abort.signal);
    abort.abort(new Error('client left'));
    await assert.rejects(gone, /client left/);
    first();
    const next = gate.tryAcquire();
    assert.ok(next !== null, 'the place is free, not handed to the waiter that left');
    next();
  });
});
