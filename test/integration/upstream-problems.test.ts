import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { StatusDocument } from '../../src/control/status-document.js';
import { createMember, dockerSuite, eventually, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { accepting, freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';

/** A discovery proxy for `group` alone (the engine is shared: other groups are not ours to manage). */
async function discoveryProxy(group: string): Promise<{ proxy: ProxyProcess; socket: string }> {
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const proxy = await ProxyProcess.start(['run', '--control-socket', socket, '--group', group, '--start-timeout', '2s'], { ready: false });
  await proxy.waitFor(/discovery mode: following containers/);
  return { proxy, socket };
}

/** `count` clients at once; each must be closed without a byte, as a connection that cannot be forwarded is. */
async function closedUnanswered(port: number, count: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: count }, () => openSocket(port).then((socket) => readAll(socket).finally(() => socket.destroy()))));
  assert.deepEqual(
    results.map((r) => r.data.length),
    Array.from({ length: count }, () => 0),
  );
}

dockerSuite('configuration problems found while connecting', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  for (const { what, upstream, expected } of [
    {
      what: 'an upstream label naming a port nothing listens on',
      upstream: (free: number) => `127.0.0.1:${free}`,
      expected: (free: number) => `upstream 127.0.0.1:${free} refused every connection until the start timeout (nothing listens there): check the port in --host or proxytainer.upstream`,
    },
    {
      what: 'an upstream label naming a host that does not resolve',
      upstream: () => `nosuch-${uniqueName('host')}.invalid:80`,
      expected: () => 'does not resolve (',
    },
  ]) {
    it(`${what}: warned once for many connections, naming the fix, and shown by status (table and JSON)`, async () => {
      const group = uniqueName('misconf');
      const [port, listening, free] = [await freePort(), await freePort(), await freePort()];
      const target = upstream(free);
      const { proxy, socket } = await discoveryProxy(group);
      try {
        // The member listens, but not where the label says.
        await createMember({
          group,
          server: ['--port', String(listening), '--host', '127.0.0.1'],
          labels: { 'proxytainer.group': group, 'proxytainer.port': String(port), 'proxytainer.upstream': target },
        });
        await eventually(() => accepting(port), 5_000, 'the listener');
        await closedUnanswered(port, 4);
        await closedUnanswered(port, 2);
        const warnings = proxy.matching(new RegExp(`WARN\\s+\\[${group}\\] `));
        assert.equal(warnings.length, 1, proxy.log);
        assert.ok(warnings[0]?.includes(expected(free)), warnings[0]);

        const json = await runCli(['status', group, '--format', 'json', '--control-socket', socket]);
        assert.equal(json.code, 0, json.stderr);
        const doc = JSON.parse(json.stdout) as StatusDocument;
        assert.equal(doc.schemaVersion, 1);
        assert.ok(doc.groups[0]?.listeners[0]?.problem?.includes(expected(free)), json.stdout);
        const table = await runCli(['status', group, '--control-socket', socket]);
        assert.equal(table.code, 0, table.stderr);
        assert.ok(table.stdout.includes(`! ${group} port ${port}: `) && table.stdout.includes(expected(free)), table.stdout);
      } finally {
        await proxy.stop();
      }
    });
  }
});
