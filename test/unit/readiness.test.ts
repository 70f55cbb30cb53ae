import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessReadiness } from '../../src/core/readiness.js';
import type { Member } from '../../src/core/runtime.js';

const member = (name: string, state: string, health: Member['health'] = 'none', exitCode: number | null = null): Member => ({
  id: name,
  name,
  state,
  health,
  exitCode,
  labels: {},
});

describe('assessReadiness', () => {
  it('no members is empty', () => {
    assert.deepEqual(assessReadiness([], { health: true }), { kind: 'empty' });
  });
  it('running without a healthcheck is ready; healthy is ready', () => {
    assert.equal(assessReadiness([member('a', 'running'), member('b', 'running', 'healthy')], { health: true }).kind, 'ready');
  });
  it('a starting healthcheck is pending with health on, ready with it off', () => {
    assert.deepEqual(assessReadiness([member('a', 'running', 'starting')], { health: true }), { kind: 'pending', detail: 'a is not healthy yet' });
    assert.equal(assessReadiness([member('a', 'running', 'starting')], { health: false }).kind, 'ready');
  });
  it('a restarting member is pending, not down', () => {
    assert.equal(assessReadiness([member('a', 'restarting')], { health: true }).kind, 'pending');
  });
  it('an exited member is down, with its exit code, and says whether anything still runs', () => {
    assert.deepEqual(assessReadiness([member('a', 'exited', 'none', 3), member('b', 'running')], { health: true }), {
      kind: 'down',
      detail: 'a is exited (exit code 3)',
      anyRunning: true,
    });
    assert.equal(assessReadiness([member('a', 'paused')], { health: true }).kind, 'down');
  });
  it('an unhealthy running member is unhealthy with health on', () => {
    assert.equal(assessReadiness([member('a', 'running', 'unhealthy')], { health: true }).kind, 'unhealthy');
    assert.equal(assessReadiness([member('a', 'running', 'unhealthy')], { health: false }).kind, 'ready');
  });
});
