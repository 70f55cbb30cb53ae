import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, createMember, dockerSuite, eventually, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { accepting, echoThrough, freePort, openSocket, readAll } from '../support/net.js';
import { ProxyProcess } from '../support/proxy-process.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function staticProxy(group: string, extra: readonly string[] = [], server: readonly string[] = []) {
  const [port, upstream] = [await freePort(), await freePort()];
  const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1', ...server] });
  const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, ...extra]);
  return { port, upstream, member, proxy };
}

/** Waits until the test server accepts connections (it sets up its SIGTERM handler before it listens). */
async function listening(port: number): Promise<void> {
  await eventually(() => accepting(port), 5_000, `the server on port ${port}`);
}

dockerSuite('static mode: idle and changes made outside', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('stops the group after the idle period, logging both state changes with the group name', async () => {
    const group = uniqueName('idle');
    const { port, member, proxy } = await staticProxy(group, ['--idle', '1']);
    try {
      assert.equal((await echoThrough(port, Buffer.from('x'))).toString(), 'x');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\): no traffic for 1s`), 5_000);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 15_000);
      assert.equal((await containerState(member)).status, 'exited');
    } finally {
      await proxy.stop();
    }
  });

  it('bytes on an open connection keep the group awake; once they stop, the group sleeps and the connection is closed', async () => {
    const group = uniqueName('busy');
    const { port, proxy } = await staticProxy(group, ['--idle', '1500ms']);
    try {
      const socket = await openSocket(port);
      const result = readAll(socket);
      for (let i = 0; i < 8; i++) {
        socket.write(`${i}`);
        await sleep(500);
      }
      assert.equal(proxy.matching(/State change \(Running => Stopping\)/).length, 0, 'no stop while bytes flow');
      await proxy.waitFor(/State change \(Stopping => Idle\)/, 15_000);
      const { data } = await result;
      assert.equal(data.toString(), '01234567');
      await proxy.waitFor(/closing 1 open connection\(s\): the group is being stopped/);
    } finally {
      await proxy.stop();
    }
  });

  it('with --connections-keep-awake, a silent open connection keeps the group awake', async () => {
    const group = uniqueName('keepawake');
    const { port, member, proxy } = await staticProxy(group, ['--idle', '1', '--connections-keep-awake']);
    try {
      const socket = await openSocket(port);
      socket.write('x');
      await sleep(3_000);
      assert.equal((await containerState(member)).status, 'running');
      assert.equal(proxy.matching(/State change \(Running => Stopping\)/).length, 0);
      socket.end();
      await proxy.waitFor(/State change \(Stopping => Idle\)/, 15_000);
    } finally {
      await proxy.stop();
    }
  });

  it('a connection that arrives while the group is stopping waits for the stop, then wakes it again', async () => {
    const group = uniqueName('restop');
    // The server ignores SIGTERM, so each stop lasts the whole 2s stop timeout.
    const { port, proxy } = await staticProxy(group, ['--idle', '1', '--stop-timeout', '2s'], ['--ignore-sigterm']);
    try {
      assert.equal((await echoThrough(port, Buffer.from('first'))).toString(), 'first');
      await proxy.waitFor(/State change \(Running => Stopping\)/, 5_000);
      const answer = await echoThrough(port, Buffer.from('during stop'));
      assert.equal(answer.toString(), 'during stop');
      const lines = proxy.matching(/State change/).map((line) => /State change \((\w+ => \w+)\)/.exec(line)?.[1]);
      assert.ok(lines.join(',').includes('Running => Stopping,Stopping => Idle,Idle => Starting,Starting => Running'), lines.join(','));
    } finally {
      await proxy.stop();
    }
  });

  it('follows docker start and docker stop made by hand, from the events stream', async () => {
    const group = uniqueName('outside');
    const { member, proxy, upstream } = await staticProxy(group, ['--idle', '2']);
    try {
      await member.start();
      await listening(upstream);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Running\\): every member is running \\(started outside proxytainer\\)`), 5_000);
      await member.stop();
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Idle\\): .* exited \\(exit code \\d+\\) .*after start \\(changed outside proxytainer\\)`), 5_000);
      await member.start();
      await listening(upstream);
      await proxy.waitFor(/State change \(Idle => Running\)/, 5_000, 2);
      await proxy.waitFor(/State change \(Running => Stopping\): no traffic for 2s/, 6_000);
      await eventually(async () => (await containerState(member)).status === 'exited', 15_000, 'the idle stop of a group started by hand');
    } finally {
      await proxy.stop();
    }
  });
});
