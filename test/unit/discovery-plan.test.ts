import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDiscovery } from '../../src/discovery/discovery-plan.js';
import type { CatalogEntry } from '../../src/core/catalog.js';
import { readMemberLabels } from '../../src/discovery/labels.js';

let created = 0;
function container(name: string, labels: Record<string, string>, at?: number, hostNetwork = false): CatalogEntry {
  return { id: `${name}-id`, name, created: at ?? ++created, labels, hostNetwork };
}

describe('reading member labels', () => {
  it('reads ports paired with upstreams by position; a missing upstream means the member itself', () => {
    const { declaration, problems } = readMemberLabels(
      container('web', { 'proxytainer.group': 'g', 'proxytainer.port': '8080, 8443', 'proxytainer.upstream': 'app:80' }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(declaration?.ports, [
      { port: 8080, protocol: 'tcp', upstream: { host: 'app', port: 80 } },
      { port: 8443, protocol: 'tcp', upstream: null },
    ]);
  });

  it('reports each bad value with the container and label, and keeps what is good', () => {
    const { declaration, problems } = readMemberLabels(
      container('web', {
        'proxytainer.group': 'g',
        'proxytainer.port': '8080,abc,99999,8080',
        'proxytainer.upstream': 'ok:1,,,,extra:2',
        'proxytainer.idle': '5x',
        'proxytainer.health': 'maybe',
      }),
    );
    assert.deepEqual(declaration?.ports, [{ port: 8080, protocol: 'tcp', upstream: { host: 'ok', port: 1 } }]);
    assert.deepEqual(
      problems.map((p) => [p.container, p.label, p.group]),
      [
        ['web', 'proxytainer.upstream', 'g'],
        ['web', 'proxytainer.port', 'g'],
        ['web', 'proxytainer.port', 'g'],
        ['web', 'proxytainer.port', 'g'],
        ['web', 'proxytainer.idle', 'g'],
        ['web', 'proxytainer.health', 'g'],
      ],
    );
    assert.match(problems[1]?.message ?? '', /"abc" is not a port/);
    assert.match(problems[2]?.message ?? '', /port 99999 is out of range/);
    assert.match(problems[3]?.message ?? '', /port 8080 is listed twice/);
    assert.equal(declaration.idleMs, undefined);
    assert.equal(declaration.health, undefined);
  });

  it('an upstream that is not host:port leaves its port unserved', () => {
    const { declaration, problems } = readMemberLabels(container('web', { 'proxytainer.group': 'g', 'proxytainer.port': '80', 'proxytainer.upstream': 'nocolon' }));
    assert.deepEqual(declaration?.ports, []);
    assert.match(problems[0]?.message ?? '', /not host:port; .*port 80 is not served/);
  });

  it('reads /udp and /tcp suffixes; one port may be listed once per protocol', () => {
    const { declaration, problems } = readMemberLabels(
      container('game', { 'proxytainer.group': 'g', 'proxytainer.port': '27015/udp, 27015/tcp, 53/UDP', 'proxytainer.upstream': 'srv:27016,srv:27016' }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(declaration?.ports, [
      { port: 27015, protocol: 'udp', upstream: { host: 'srv', port: 27016 } },
      { port: 27015, protocol: 'tcp', upstream: { host: 'srv', port: 27016 } },
      { port: 53, protocol: 'udp', upstream: null },
    ]);
  });

  it('a bad protocol suffix is a problem naming the label and the fix; the other ports are kept', () => {
    const { declaration, problems } = readMemberLabels(
      container('game', { 'proxytainer.group': 'g', 'proxytainer.port': '9/sctp,27015/UDP2,27016/udp,53/udp,53/UDP,80,80/tcp' }),
    );
    assert.deepEqual(declaration?.ports.map((p) => `${p.port}/${p.protocol}`), ['27016/udp', '53/udp', '80/tcp']);
    assert.deepEqual(problems.map((p) => [p.container, p.label, p.group]), Array.from({ length: 4 }, () => ['game', 'proxytainer.port', 'g']));
    assert.match(problems[0]?.message ?? '', /"9\/sctp": proxytainer proxies TCP and UDP, not SCTP; write 9\/tcp or 9\/udp \(in "9\/sctp,/);
    assert.match(problems[1]?.message ?? '', /"27015\/UDP2": "UDP2" is not a protocol; write 27015\/udp/);
    assert.match(problems[2]?.message ?? '', /port 53\/udp is listed twice/);
    assert.match(problems[3]?.message ?? '', /port 80 is listed twice/);
  });

  it('reads idle and health', () => {
    const { declaration } = readMemberLabels(container('web', { 'proxytainer.group': 'g', 'proxytainer.idle': '5m', 'proxytainer.health': 'FALSE' }));
    assert.equal(declaration?.idleMs, 300_000);
    assert.equal(declaration.health, false);
  });

  it('reads the wake rules; a bad one is a problem naming the label and what happens instead', () => {
    const { declaration } = readMemberLabels(
      container('web', { 'proxytainer.group': 'g', 'proxytainer.wake-on': 'Data', 'proxytainer.wake-min-bytes': '16', 'proxytainer.wake-from': '10.0.0.0/8,fd00::/8', 'proxytainer.allow-from': '10.1.2.3' }),
    );
    assert.equal(declaration?.wakeOn, 'data');
    assert.equal(declaration.wakeMinBytes, 16);
    assert.equal(declaration.wakeFrom?.text, '10.0.0.0/8, fd00::/8');
    assert.equal(declaration.allowFrom?.text, '10.1.2.3/32');
    const bad = readMemberLabels(
      container('web', { 'proxytainer.group': 'g', 'proxytainer.wake-on': 'sometimes', 'proxytainer.wake-min-bytes': '-1', 'proxytainer.wake-from': '10.0.0.0/33', 'proxytainer.allow-from': 'lan' }),
    );
    assert.equal(bad.declaration?.allowFrom?.has('10.0.0.1'), false, 'an unreadable allow-from fails closed');
    assert.equal(bad.declaration.wakeFrom, undefined, 'an unreadable wake-from leaves the default');
    assert.deepEqual(bad.problems.map((p) => [p.label, p.message]), [
      ['proxytainer.wake-on', '"sometimes" is not connect or data (connect: any connection wakes the group; data: only one that sends bytes); the default applies'],
      ['proxytainer.wake-min-bytes', '"-1" is not a whole number of bytes of at least 1; the default applies'],
      ['proxytainer.wake-from', '"10.0.0.0/33": the prefix length must be a whole number from 0 to 32; any client may wake the group'],
      ['proxytainer.allow-from', '"lan" is not an address or a network in CIDR form (192.168.1.0/24, fd00::/8); the group serves no one until it is fixed'],
    ]);
  });

  it('reads a group webhook; one that is not http(s) is a problem naming the label, and the group lives on without it', () => {
    const plan = planDiscovery([
      container('a', { 'proxytainer.group': 'g', 'proxytainer.webhook': 'https://user:pw@hooks.example.com/p?token=t' }, 1),
      container('b', { 'proxytainer.group': 'g', 'proxytainer.webhook': 'https://other.example.com/' }, 2),
      container('c', { 'proxytainer.group': 'h', 'proxytainer.webhook': 'ftp://hooks.example.com/' }, 3),
    ]);
    assert.equal(plan.groups.get('g')?.webhook?.href, 'https://user:pw@hooks.example.com/p?token=t');
    assert.equal(plan.groups.get('h')?.webhook, undefined);
    assert.ok(plan.groups.has('h'));
    assert.deepEqual(plan.problems.map((p) => [p.container, p.label, p.group]), [
      ['b', 'proxytainer.webhook', 'g'],
      ['c', 'proxytainer.webhook', 'h'],
    ]);
    assert.match(plan.problems[0]?.message ?? '', /^https:\/\/other\.example\.com\/ disagrees with https:\/\/hooks\.example\.com\/p on a/);
    assert.match(plan.problems[1]?.message ?? '', /"ftp:\/\/hooks\.example\.com\/" is not an http or https URL .*; this group's changes are not sent there/);
  });

  it('an empty group name is a problem and no membership', () => {
    const { declaration, problems } = readMemberLabels(container('web', { 'proxytainer.group': ' ' }));
    assert.equal(declaration, null);
    assert.equal(problems[0]?.label, 'proxytainer.group');
  });
});

describe('planning discovery', () => {
  it('builds groups and one listener per port', () => {
    const plan = planDiscovery([
      container('web', { 'proxytainer.group': 'site', 'proxytainer.port': '8080', 'proxytainer.upstream': 'web:80' }),
      container('db', { 'proxytainer.group': 'site' }),
      container('cache', { 'proxytainer.group': 'kv', 'proxytainer.port': '6379' }),
    ]);
    assert.deepEqual([...plan.groups.keys()], ['site', 'kv']);
    assert.deepEqual(plan.groups.get('site')?.members, ['web', 'db']);
    assert.deepEqual([...plan.listeners.values()].map((l) => [l.port, l.group, l.declaredBy.name]), [
      [8080, 'site', 'web'],
      [6379, 'kv', 'cache'],
    ]);
    assert.deepEqual(plan.problems, []);
  });

  it('one group listens on a port over UDP and TCP; another group may take the other protocol of a port', () => {
    const plan = planDiscovery([
      container('game', { 'proxytainer.group': 'game', 'proxytainer.port': '27015/udp,27015/tcp', 'proxytainer.upstream': 'srv:27015,srv:27015' }, 1),
      container('dns', { 'proxytainer.group': 'dns', 'proxytainer.port': '53/udp' }, 2),
      container('web', { 'proxytainer.group': 'web', 'proxytainer.port': '53' }, 3),
      container('late', { 'proxytainer.group': 'late', 'proxytainer.port': '27015/UDP' }, 4),
    ]);
    assert.deepEqual(
      [...plan.listeners.entries()].map(([key, l]) => [key, l.port, l.protocol, l.group]),
      [
        ['27015/udp', 27015, 'udp', 'game'],
        ['27015/tcp', 27015, 'tcp', 'game'],
        ['53/udp', 53, 'udp', 'dns'],
        ['53/tcp', 53, 'tcp', 'web'],
      ],
    );
    assert.equal(plan.problems.length, 1);
    assert.match(plan.problems[0]?.message ?? '', /port 27015\/udp is already claimed by group game \(game\); this claim is ignored/);
  });

  it('a UDP upstream that is its own listener is refused, and only that port', () => {
    const plan = planDiscovery([container('dns', { 'proxytainer.group': 'dns', 'proxytainer.port': '5353/udp,5354', 'proxytainer.upstream': '127.0.0.1:5353,127.0.0.1:5353' })]);
    assert.deepEqual([...plan.listeners.keys()], ['5354/tcp']);
    assert.match(plan.problems[0]?.message ?? '', /127\.0\.0\.1:5353 is port 5353\/udp's own listener, so datagrams would loop back into the proxy/);
  });

  it('two groups claiming one port: the older container wins, whatever the listing order, and the other is reported', () => {
    const older = container('a-new-name', { 'proxytainer.group': 'one', 'proxytainer.port': '80' }, 100);
    const newer = container('b', { 'proxytainer.group': 'two', 'proxytainer.port': '80' }, 200);
    for (const listing of [[older, newer], [newer, older]]) {
      const plan = planDiscovery(listing);
      assert.equal(plan.listeners.get('80/tcp')?.group, 'one');
      assert.equal(plan.problems.length, 1);
      assert.equal(plan.problems[0]?.container, 'b');
      assert.match(plan.problems[0].message, /port 80 is already claimed by group one \(a-new-name\); this claim is ignored/);
    }
  });

  it('replicas declaring the same listener are no conflict; a different upstream in the same group is', () => {
    const plan = planDiscovery([
      container('r1', { 'proxytainer.group': 'g', 'proxytainer.port': '80', 'proxytainer.upstream': 'svc:80' }),
      container('r2', { 'proxytainer.group': 'g', 'proxytainer.port': '80', 'proxytainer.upstream': 'svc:80' }),
      container('r3', { 'proxytainer.group': 'g', 'proxytainer.port': '80', 'proxytainer.upstream': 'other:80' }),
    ]);
    assert.equal(plan.problems.length, 1);
    assert.equal(plan.problems[0]?.container, 'r3');
  });

  it('members that disagree on settings: the first wins and the others are reported', () => {
    const plan = planDiscovery([
      container('a', { 'proxytainer.group': 'g', 'proxytainer.idle': '10m', 'proxytainer.health': 'true' }, 1),
      container('b', { 'proxytainer.group': 'g', 'proxytainer.idle': '5m', 'proxytainer.health': 'false' }, 2),
    ]);
    assert.equal(plan.groups.get('g')?.idleMs, 600_000);
    assert.equal(plan.groups.get('g')?.health, true);
    assert.deepEqual(plan.problems.map((p) => [p.container, p.label]), [
      ['b', 'proxytainer.idle'],
      ['b', 'proxytainer.health'],
    ]);
    assert.match(plan.problems[0]?.message ?? '', /5m disagrees with 10m on a, which was first; using 10m/);
  });

  it('a bad label on one container leaves the other groups whole', () => {
    const plan = planDiscovery([
      container('bad', { 'proxytainer.group': 'broken', 'proxytainer.port': 'eighty' }),
      container('good', { 'proxytainer.group': 'fine', 'proxytainer.port': '81' }),
    ]);
    assert.equal(plan.listeners.get('81/tcp')?.group, 'fine');
    assert.ok(plan.groups.has('broken'));
    assert.equal(plan.problems.length, 1);
  });

  it('refuses an upstream that is the listener itself when the labels are read, naming the fix', () => {
    const plan = planDiscovery([
      container('loop', { 'proxytainer.group': 'a', 'proxytainer.port': '8080,8081', 'proxytainer.upstream': '127.0.0.1:8080,localhost:9000' }),
      container('own', { 'proxytainer.group': 'b', 'proxytainer.port': '8082,8083', 'proxytainer.upstream': ',[::1]:8083' }),
    ]);
    assert.deepEqual([...plan.listeners.keys()], ['8081/tcp', '8082/tcp'], 'the looping ports are not served, the others are');
    assert.deepEqual(
      plan.problems.map((p) => [p.container, p.label, p.group]),
      [
        ['loop', 'proxytainer.upstream', 'a'],
        ['own', 'proxytainer.upstream', 'b'],
      ],
    );
    assert.match(plan.problems[0]?.message ?? '', /127\.0\.0\.1:8080 is port 8080's own listener, so connections would loop back into the proxy/);
  });

  it('refuses a host-network member without an upstream: the proxy holds its port, so the member could not listen on it', () => {
    const plan = planDiscovery([container('web', { 'proxytainer.group': 'web', 'proxytainer.port': '8080' }, undefined, true)]);
    assert.equal(plan.listeners.size, 0);
    assert.match(plan.problems[0]?.message ?? '', /web is on the host network, where the proxy itself listens on port 8080; run the member on another port and name it with proxytainer\.upstream=127\.0\.0\.1:<its port>/);
    const bound = planDiscovery([container('web', { 'proxytainer.group': 'web', 'proxytainer.port': '8080' }, undefined, true)], { bind: '10.0.0.5' });
    assert.equal(bound.listeners.size, 1, 'a proxy bound to another address leaves 127.0.0.1:8080 to the member');
  });
});
