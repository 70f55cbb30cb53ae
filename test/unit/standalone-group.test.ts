import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleepWithBackend, startWithBackend, wakeWithBackend } from '../../src/control/standalone-group.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeRuntime } from '../support/fake-runtime.js';

describe('wake --no-wait without a proxy', () => {
  it('starts only the members that are asleep: one that is restarting is on its way up already', async () => {
    const backend = new FakeRuntime();
    backend.add('g', 'web');
    backend.add('g', 'worker', { phase: 'starting' });
    backend.add('g', 'db', { phase: 'running' });
    assert.deepEqual(await startWithBackend(backend, 'g'), { ok: true, state: 'Starting' });
    assert.deepEqual(
      backend.calls.filter((call) => call.startsWith('start')),
      ['start web'],
    );
  });

  it('a group with no members is an error that says so', async () => {
    assert.deepEqual(await startWithBackend(new FakeRuntime(), 'g'), { ok: false, reason: 'no fake members of g exist' });
  });

});

describe('wake and sleep without a proxy', () => {
  it('a wake that fails stops what it started before it returns, as the proxy would', async () => {
    const backend = new FakeRuntime();
    backend.add('g', 'web', { healthOnStart: 'starting' }); // never turns healthy
    const clock = new FakeClock();
    const result = wakeWithBackend(backend, 'g', { startTimeoutMs: 1_000, clock, logger: new MemoryLogger() }, () => undefined);
    await clock.advance(1_000);
    assert.deepEqual(await result, { ok: false, reason: 'wake failed: not ready after 1s: web is not healthy yet' });
    const [web] = await backend.members('g');
    assert.equal(web?.phase, 'stopped', 'the member it started was stopped again');
  });

  for (const command of ['wake', 'sleep'] as const) {
    it(`${command} of a group nobody has heard of is an error that says where the groups are listed`, async () => {
      const backend = new FakeRuntime();
      backend.add('web', 'web-1');
      const options = { startTimeoutMs: 1_000, clock: new FakeClock(), logger: new MemoryLogger() };
      const result = command === 'wake' ? await wakeWithBackend(backend, 'nosuch', options, () => undefined) : await sleepWithBackend(backend, 'nosuch', options);
      assert.deepEqual(result, { ok: false, reason: 'no group named nosuch: no fake members of nosuch exist, and no proxy manages it; status lists the groups' });
      assert.equal(backend.calls.filter((call) => call.startsWith('stop') || call.startsWith('start')).length, 0);
    });
  }
});
