import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { DockerBackend } from '../../src/docker/docker-backend.js';
import { createMember, createNetwork, docker, dockerSuite, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { freePort } from '../support/net.js';

dockerSuite('DockerBackend against the real engine', () => {
  const runtime = new DockerBackend({ docker, endpoint: 'test engine', clock: systemClock, logger: new MemoryLogger() });
  const signal = new AbortController().signal;
  before(removeTestObjects);
  after(removeTestObjects);

  it("treats Docker's 304 as success: start of a running member, stop of a stopped one", async () => {
    const group = uniqueName('304');
    const container = await createMember({ group, server: ['--port', String(await freePort()), '--host', '127.0.0.1'] });
    const [stopped] = await runtime.members(group, signal);
    assert.ok(stopped !== undefined);
    const stop = { mode: 'stop', timeoutSeconds: 1 } as const;
    await runtime.sleep(stopped, stop, signal); // never started: 304
    await container.start();
    await runtime.wake(stopped, signal); // already running: 304
    await runtime.sleep(stopped, stop, signal);
    await runtime.sleep(stopped, stop, signal); // already stopped: 304
    const [after] = await runtime.members(group, signal);
    assert.equal(after?.state, 'exited');
    assert.equal(after.phase, 'stopped');
  });

  it("reads members by label in the core's words (phase, health) and Docker's (state, exit code); a removed container is no member", async () => {
    const group = uniqueName('members');
    const container = await createMember({ group, server: ['--port', String(await freePort()), '--host', '127.0.0.1', '--exit-after', '100', '--exit-code', '7'], healthIntervalMs: 1000 });
    const [created] = await runtime.members(group, signal);
    assert.equal(created?.state, 'created');
    assert.equal(created.phase, 'stopped');
    assert.equal(created.health, 'none');
    await runtime.wake(created, signal);
    const [running] = await runtime.members(group, signal);
    assert.equal(running?.state, 'running');
    assert.equal(running.phase, 'running');
    assert.equal(running.health, 'starting');
    await container.wait();
    const [exited] = await runtime.members(group, signal);
    assert.equal(exited?.phase, 'stopped');
    assert.match(exited.detail, /exited \(exit code 7\) \S+ after start/);
    assert.equal(exited.exitCode, 7);
    assert.equal(exited.health, 'none', 'a stopped container reports unhealthy to Docker, which means nothing');
    await container.remove();
    assert.deepEqual(await runtime.members(group, signal), []);
  });

  it("finds a member's address afresh: 127.0.0.1 on the host network, its IP on a network, an error when it has none", async () => {
    const network = await createNetwork();
    const onHost = await createMember({ group: uniqueName('addr'), cmd: ['sleep', '600'] });
    const onNetwork = await createMember({ group: uniqueName('addr'), network, cmd: ['sleep', '600'] });
    const name = async (c: typeof onHost): Promise<string> => (await c.inspect()).Name.replace(/^\//, '');
    await onHost.start();
    await onNetwork.start();
    assert.equal(await runtime.address(await name(onHost), signal), '127.0.0.1');
    const ip = (await onNetwork.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    assert.match(ip ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(await runtime.address(await name(onNetwork), signal), ip);
    await onNetwork.stop({ t: 0 });
    await assert.rejects(runtime.address(await name(onNetwork), signal), /has no address on .*\(it is not running\)/);
  });

  it('a start Docker refuses is an error that carries its message', async () => {
    const group = uniqueName('refuse');
    await createMember({ group, cmd: ['/no/such/program'] });
    const [member] = await runtime.members(group, signal);
    assert.ok(member !== undefined);
    await assert.rejects(runtime.wake(member, signal), /Docker refused \(HTTP \d+\): .*no such file or directory/);
  });
});
