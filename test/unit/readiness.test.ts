import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessReadiness } from '../../src/core/readiness.js';
import type { Member, MemberPhase } from '../../src/core/runtime.js';

const member = (name: string, phase: MemberPhase, health: Member['health'] = 'none', detail = `${name} is ${phase}`, extra: Partial<Member> = {}): Member => ({
  id: name,
  name,
  phase,
  health,
  state: phase,
  detail,
  exitCode: null,
  groups: ['g'],
  dependsOn: [],
  ...extra,
});

describe('assessReadiness', () => {
  it('no members is empty', () => {
    assert.deepEqual(assessReadiness([], { health: true }), { kind: 'empty' });
  });
  it('running without a health check is ready; healthy is ready', () => {
    assert.equal(assessReadiness([member('a', 'running'), member('b', 'running', 'healthy')], { health: true }).kind, 'ready');
  });
  it('a starting health check is pending with health on, ready with it off', () => {
    assert.deepEqual(assessReadiness([member('a', 'running', 'starting')], { health: true }), { kind: 'pending', detail: 'a is not healthy yet' });
    assert.equal(assessReadiness([member('a', 'running', 'starting')], { health: false }).kind, 'ready');
  });
  it('a member on its way up by itself (restarting) is pending, not down, with the backend\'s words', () => {
    assert.deepEqual(assessReadiness([member('a', 'starting', 'none', 'a is restarting')], { health: true }), { kind: 'pending', detail: 'a is restarting' });
  });
  it('a stopped member is down, in the backend\'s words, and says whether anything is still up', () => {
    assert.deepEqual(assessReadiness([member('a', 'stopped', 'none', 'a exited (exit code 3)'), member('b', 'running')], { health: true }), {
      kind: 'down',
      detail: 'a exited (exit code 3)',
      anyUp: true,
    });
    assert.deepEqual(assessReadiness([member('a', 'paused')], { health: true }), { kind: 'down', detail: 'a is paused', anyUp: false });
  });
  it('an unhealthy running member is unhealthy with health on', () => {
    assert.equal(assessReadiness([member('a', 'running', 'unhealthy')], { health: true }).kind, 'unhealthy');
    assert.equal(assessReadiness([member('a', 'running', 'unhealthy')], { health: false }).kind, 'ready');
  });
  it('a one-shot job (someone waits for it to complete) is done once it exited 0, pending while it runs, down if it failed', () => {
    const app = member('app', 'running', 'none', 'app is running', { dependsOn: [{ id: 'migrate', name: 'migrate', condition: 'service_completed_successfully' }] });
    const job = (phase: MemberPhase, exitCode: number | null): Member => member('migrate', phase, 'none', `migrate ${phase}`, { exitCode });
    assert.equal(assessReadiness([app, job('stopped', 0)], { health: true }).kind, 'ready');
    assert.deepEqual(assessReadiness([app, job('running', null)], { health: true }), { kind: 'pending', detail: 'migrate has not completed yet' });
    assert.equal(assessReadiness([app, job('stopped', 1)], { health: true }).kind, 'down');
    assert.equal(assessReadiness([job('stopped', 0)], { health: true }).kind, 'down', 'without anyone waiting for it, an exited member is down');
  });
  it('ignores the stale health of members this wake unpaused: Docker checked them while frozen', () => {
    const thawed = member('a', 'running', 'unhealthy');
    assert.equal(assessReadiness([thawed], { health: true }).kind, 'unhealthy');
    assert.equal(assessReadiness([thawed], { health: true, trusted: new Set(['a']) }).kind, 'ready');
  });
});
