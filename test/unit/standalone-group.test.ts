import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWithBackend } from '../../src/control/standalone-group.js';
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
