import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatalogEntry } from '../../src/core/catalog.js';
import { formatHostnamePattern } from '../../src/core/protocols/hostname-pattern.js';
import { type DiscoveryPlan, planDiscovery } from '../../src/discovery/discovery-plan.js';
import { readMemberLabels } from '../../src/discovery/labels.js';

function container(name: string, labels: Record<string, string>, created: number): CatalogEntry {
  return { id: `${name}-id`, name, created, labels, hostNetwork: false };
}

/** Each route of a port as [group, names]. */
function routesOf(plan: DiscoveryPlan, key: string): [string, string[]][] {
  return (plan.listeners.get(key)?.routes ?? []).map((route) => [route.group, route.hostnames.map(formatHostnamePattern)]);
}

describe('ports shared by name (proxytainer.hostname)', () => {
  it('reads names, wildcards and Minecraft, case-insensitively, and reports what is not a name', () => {
    const { declaration, problems } = readMemberLabels(
      container('web', { 'proxytainer.group': 'g', 'proxytainer.port': '443', 'proxytainer.hostname': 'App.Example.com, *.example.org,https://x.test/', 'proxytainer.protocol': 'Minecraft', 'proxytainer.motd': 'Zzz' }, 1),
    );
    assert.deepEqual(declaration?.hostnames.map(formatHostnamePattern), ['app.example.com', '*.example.org']);
    assert.deepEqual(declaration.minecraft, { motd: 'Zzz' });
    assert.deepEqual(problems.map((p) => p.label), ['proxytainer.hostname']);
    assert.match(problems[0]?.message ?? '', /"https:\/\/x\.test\/" is not a host name: give the name alone/);
  });

  it('lets groups with names share a port, the one without as the fallback, whatever the listing order', () => {
    const a = container('a', { 'proxytainer.group': 'a', 'proxytainer.port': '443', 'proxytainer.hostname': 'a.example.com' }, 1);
    const fallback = container('f', { 'proxytainer.group': 'f', 'proxytainer.port': '443' }, 2);
    const b = container('b', { 'proxytainer.group': 'b', 'proxytainer.port': '443', 'proxytainer.hostname': '*.example.com' }, 3);
    for (const listing of [[a, fallback, b], [b, fallback, a]]) {
      const plan = planDiscovery(listing);
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(routesOf(plan, '443/tcp'), [['a', ['a.example.com']], ['f', []], ['b', ['*.example.com']]]);
    }
  });

  it('a name two groups claim on one port stays with the older; a second fallback is a problem', () => {
    const older = container('old', { 'proxytainer.group': 'one', 'proxytainer.port': '443', 'proxytainer.hostname': 'x.test,y.test' }, 1);
    const newer = container('new', { 'proxytainer.group': 'two', 'proxytainer.port': '443', 'proxytainer.hostname': 'Y.test,z.test' }, 2);
    const plain1 = container('p1', { 'proxytainer.group': 'three', 'proxytainer.port': '443' }, 3);
    const plain2 = container('p2', { 'proxytainer.group': 'four', 'proxytainer.port': '443' }, 4);
    const plan = planDiscovery([plain2, newer, plain1, older]);
    assert.deepEqual(routesOf(plan, '443/tcp'), [['one', ['x.test', 'y.test']], ['two', ['z.test']], ['three', []]]);
    assert.deepEqual(plan.problems.map((p) => [p.container, p.label]), [['new', 'proxytainer.hostname'], ['p2', 'proxytainer.port']]);
    assert.match(plan.problems[0]?.message ?? '', /y\.test on port 443 is already claimed by group one \(old\), which was first; group two does not get it/);
    assert.match(plan.problems[1]?.message ?? '', /port 443 is already claimed by group three \(p1\); this claim is ignored; groups share a port by proxytainer\.hostname/);
  });

  it('UDP ports are never shared', () => {
    const plan = planDiscovery([
      container('a', { 'proxytainer.group': 'a', 'proxytainer.port': '53/udp', 'proxytainer.hostname': 'a.test' }, 1),
      container('b', { 'proxytainer.group': 'b', 'proxytainer.port': '53/udp', 'proxytainer.hostname': 'b.test' }, 2),
    ]);
    assert.deepEqual(routesOf(plan, '53/udp'), [['a', []]]);
    assert.equal(plan.problems.length, 1);
  });
});
