import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';

dockerSuite('the proxytainer process', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a port already in use is a runtime error, exit 1, that says what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => {
      blocker.listen(0, resolve);
    });
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const { code, stderr } = await runCli(['--port', String(port), '--host', 'localhost:5000', '--group', uniqueName('busy')]);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`error: cannot listen on port ${port}: it is already in use; stop what listens there or choose another port`));
    } finally {
      blocker.close();
    }
  });

  it('a control socket that cannot be made is a runtime error when asked for by name', async () => {
    const [port, group] = [await freePort(), uniqueName('nosocket')];
    const { code, stderr } = await runCli(['--port', String(port), '--host', 'localhost:5000', '--group', group, '--control-socket', '/etc/hostname/control.sock']);
    assert.equal(code, 1);
    assert.match(stderr, /error: .*\/etc\/hostname.*; choose another --control-socket/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: stops accepting, closes held connections, lets live ones finish, exits 0, leaves containers alone`, async () => {
      const awakeGroup = uniqueName('awake');
      const [port, upstream, coldPort, coldUpstream] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const member = await createMember({ group: awakeGroup, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
      const live = await ProxyProcess.start(['run', '--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', awakeGroup, '--shutdown-grace', '3s']);
      const coldGroup = uniqueName('cold');
      await createMember({ group: coldGroup, server: ['--port', String(coldUpstream), '--host', '127.0.0.1', '--healthy-after', '600000'], healthIntervalMs: 500 });
      const cold = await ProxyProcess.start(['--port', String(coldPort), '--host', `127.0.0.1:${coldUpstream}`, '--group', coldGroup]);
      try {
        const socket = await openSocket(port);
        const answer = readAll(socket);
        socket.write('before ');
        await live.waitFor(/forwarding .* to 127\.0\.0\.1/);
        const held = await openSocket(coldPort);
        const heldResult = readAll(held);
        await cold.waitFor(/holding connection/);

        const stopping = live.stop(signal);
        await live.waitFor(/shutting down/);
        socket.end('after');
        assert.deepEqual(await stopping, { code: 0, signal: null });
        assert.equal((await answer).data.toString(), 'before after', 'the live connection finished within the grace period');
        assert.equal((await containerState(member)).status, 'running', 'containers are left as they are');

        const coldStopped = Date.now();
        assert.deepEqual(await cold.stop(signal), { code: 0, signal: null });
        await heldResult;
        assert.ok(Date.now() - coldStopped < 2_000, 'held connections are closed at once');
      } finally {
        await live.stop('SIGKILL');
        await cold.stop('SIGKILL');
      }
    });
  }
});
