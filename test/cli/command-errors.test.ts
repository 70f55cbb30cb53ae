import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { type ControlApi, UnknownGroupError } from '../../src/control/control-api.js';
import { ControlServer } from '../../src/control/control-server.js';
import type { StatusDocument } from '../../src/control/status-document.js';
import { BackendError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { testContext } from '../support/cli-context.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { groupStatus } from '../support/status-fixtures.js';

/** A proxy that listed `web` a moment ago and has just forgotten it: the race between `status` and the request. */
const forgetful: ControlApi = {
  status: (): StatusDocument => ({
    schemaVersion: 1,
    proxies: [{ pid: 4242, version: 'test', mode: 'discovery', docker: 'fake://', controlSocket: '-', startedAt: new Date(0).toISOString() }],
    groups: [groupStatus('web', { proxy: 4242 })],
    problems: [],
    notes: [],
    docker: null,
  }),
  wake: () => Promise.reject(new UnknownGroupError('web', [])),
  sleep: () => Promise.reject(new UnknownGroupError('web', [])),
};

describe('errors commands meet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pt-errors-'));
  const socket = join(dir, 'proxy.sock');
  let server: ControlServer;
  before(async () => {
    server = await ControlServer.start(socket, forgetful, silentLogger, { explicit: true });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const command of ['wake', 'sleep']) {
    it(`${command}: a group removed while the command talks to its proxy is one line and exit 1, not an internal error`, async () => {
      const { context, err } = testContext(new FakeRuntime());
      const code = await main([command, 'web', '--control-socket', socket], context);
      assert.equal(code, 1);
      assert.equal(err(), 'error: no group named web in this proxy (it changed while this command ran; see status)\n');
    });
  }

  it('status: a backend that says no is the user\'s to fix: one line, exit 1', async () => {
    const backend = new FakeRuntime();
    backend.listError = new BackendError('cannot reach Docker at fake://: connection refused');
    const { context, err } = testContext(backend);
    const code = await main(['status', '--control-socket', join(dir, 'nobody.sock')], context);
    assert.equal(code, 1);
    assert.equal(err(), 'error: cannot reach Docker at fake://: connection refused\n');
  });

  it('status: anything else is a bug, reported with its stack rather than dressed as a user error', async () => {
    const backend = new FakeRuntime();
    backend.listError = new TypeError("Cannot read properties of undefined (reading 'labels')");
    const { context, err } = testContext(backend);
    const code = await main(['status', '--control-socket', join(dir, 'nobody.sock')], context);
    assert.equal(code, 1);
    assert.match(err(), /^proxytainer: internal error, please report it: TypeError: Cannot read properties of undefined \(reading 'labels'\)\n\s+at /);
  });
});
