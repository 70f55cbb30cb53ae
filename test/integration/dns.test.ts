import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { ProxyProcess } from '../support/proxy-process.js';
import { createDnsMember, realServersSuite } from '../support/real-servers.js';
import { dig } from '../support/server-clients.js';
import { freeUdpPort } from '../support/udp.js';

realServersSuite(
  'DNS over UDP through proxytainer: dnsmasq and dig',
  () => {
    before(removeTestObjects);
    after(removeTestObjects);

    it('the first query wakes dnsmasq and gets its answer, held until the server is healthy; later queries go straight through', async () => {
      const group = uniqueName('dns');
      const [port, upstream] = [await freeUdpPort(), await freeUdpPort()];
      const member = await createDnsMember({ group, port: upstream, records: { 'game.example.test': '10.1.2.3', 'voice.example.test': '10.1.2.4' } });
      const proxy = await ProxyProcess.start(['--port', `${port}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group]);
      try {
        assert.equal((await containerState(member)).status, 'created');
        const first = await dig(port, 'game.example.test');
        assert.equal(first.code, 0, `dig failed:\n${first.stdout}${first.stderr}\nproxytainer:\n${proxy.log}`);
        assert.equal(first.stdout.trim(), '10.1.2.3');
        await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): datagram from 127\\.0\\.0\\.1:\\d+ on port ${port}/udp`));
        assert.equal((await containerState(member)).health, 'healthy');
        const later = await Promise.all(Array.from({ length: 20 }, (_, i) => dig(port, i % 2 === 0 ? 'game.example.test' : 'voice.example.test')));
        assert.deepEqual(
          later.map((r) => r.stdout.trim()),
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? '10.1.2.3' : '10.1.2.4')),
          'twenty clients at once, each with its own answer',
        );
      } finally {
        await proxy.stop();
      }
    });
  },
  ['dns'],
);
