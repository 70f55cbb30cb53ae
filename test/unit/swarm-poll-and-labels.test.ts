import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatalogEntry } from '../../src/core/catalog.js';
import { planDiscovery } from '../../src/discovery/discovery-plan.js';
import { readMemberLabels } from '../../src/discovery/labels.js';
import { POLL_MAX_MS, TaskPoll } from '../../src/docker/task-poll.js';
import { FakeClock, settle } from '../support/fake-clock.js';

describe('the task poll of a wake or sleep in progress', () => {
  it('looks soon, then backs off to a bounded spacing, and stops once the look says done', async () => {
    const clock = new FakeClock();
    const poll = new TaskPoll(clock);
    const looks: number[] = [];
    let finished = false;
    const done = poll.until('web', () => Promise.resolve(looks.push(clock.now()) >= 7), 60_000, new AbortController().signal).finally(() => (finished = true));
    await clock.advance(2_000);
    assert.deepEqual(looks, [25, 75, 175, 375, 625, 875, 1125]);
    assert.equal(finished, true);
    assert.equal(await done, true);
    assert.equal(clock.timers, 0, 'nothing left polling');
    assert.ok(looks.slice(1).every((at, i) => at - (looks[i] ?? 0) <= POLL_MAX_MS));
  });

  it('an event about the service looks at once, and the spacing starts again from the shortest; one during a look is not lost', async () => {
    const clock = new FakeClock();
    const poll = new TaskPoll(clock);
    const looks: number[] = [];
    let pokeDuringLook = false;
    const look = (): Promise<boolean> => {
      looks.push(clock.now());
      if (pokeDuringLook) {
        pokeDuringLook = false;
        poll.poke('web');
      }
      return Promise.resolve(looks.length >= 6);
    };
    const done = poll.until('web', look, 60_000, new AbortController().signal);
    await clock.advance(100); // looks at 25 and 75; the next is due at 175
    poll.poke('other');
    await settle();
    assert.deepEqual(looks, [25, 75]);
    poll.poke('web');
    await settle();
    assert.deepEqual(looks, [25, 75, 100]);
    await clock.advance(25);
    assert.deepEqual(looks, [25, 75, 100, 125], 'the next look comes after the shortest spacing again');
    pokeDuringLook = true;
    await clock.advance(50);
    assert.deepEqual(looks, [25, 75, 100, 125, 175, 175], 'a poke during a look makes the next one come at once');
    assert.equal(await done, true);
  });

  it('ends without success at its limit, and at once when aborted', async () => {
    const clock = new FakeClock();
    const poll = new TaskPoll(clock);
    let result: boolean | null = null;
    void poll.until('web', () => Promise.resolve(false), 1_000, new AbortController().signal).then((value) => (result = value));
    await clock.advance(1_100);
    assert.equal(result, false);
    const controller = new AbortController();
    let looks = 0;
    let aborted: boolean | null = null;
    void poll.until('web', () => Promise.resolve(++looks > 100), 60_000, controller.signal).then((value) => (aborted = value));
    await clock.advance(30);
    controller.abort();
    await settle();
    assert.equal(aborted, false);
    assert.equal(looks, 1);
    assert.equal(clock.timers, 0);
  });
});

function service(name: string, labels: Record<string, string>, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return { id: `${name}-id`, name, created: 1, labels, hostNetwork: false, kind: 'service', ...extra };
}

describe('labels on Swarm services', () => {
  it('proxytainer.replicas is read on a service; a bad value is a problem naming the service and label', () => {
    assert.deepEqual(readMemberLabels(service('web', { 'proxytainer.group': 'g', 'proxytainer.replicas': '3' })).problems, []);
    const { declaration, problems } = readMemberLabels(service('web', { 'proxytainer.group': 'g', 'proxytainer.replicas': 'three' }));
    assert.notEqual(declaration, null, 'the service stays a member');
    assert.deepEqual(problems.map((p) => [p.container, p.label, p.group]), [['web', 'proxytainer.replicas', 'g']]);
    assert.match(problems[0]?.message ?? '', /"three" is not a number of replicas.*a wake restores the count the service had/);
    assert.match(readMemberLabels(service('web', { 'proxytainer.group': 'g', 'proxytainer.replicas': '0' })).problems[0]?.message ?? '', /no replicas at all; write 1 or more/);
  });

  it('proxytainer.replicas on a container is a problem: it applies to services only', () => {
    const { problems } = readMemberLabels({ id: 'c', name: 'db', created: 1, labels: { 'proxytainer.group': 'g', 'proxytainer.replicas': '2' }, hostNetwork: false });
    assert.match(problems[0]?.message ?? '', /applies to Swarm services only .* db is a container, so it is ignored/);
  });

  it('a global service is left out of its group with a problem on its group label; the rest of the group stays', () => {
    const agent = service('agent', { 'proxytainer.group': 'g', 'proxytainer.port': '8080' }, { unsupported: 'agent is a global service, which Swarm cannot scale to 0' });
    const web = service('web', { 'proxytainer.group': 'g', 'proxytainer.port': '8081' });
    const plan = planDiscovery([agent, web]);
    assert.deepEqual(plan.groups.get('g')?.members, ['web']);
    assert.deepEqual([...plan.listeners.keys()], ['8081/tcp']);
    assert.deepEqual(plan.problems.map((p) => [p.container, p.label, p.group]), [['agent', 'proxytainer.group', 'g']]);
    assert.match(plan.problems[0]?.message ?? '', /global service.*; it is left out of group g/);
  });
});
