import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import {
  containerState,
  createMember,
  createNetwork,
  docker,
  dockerSuite,
  groupEvents,
  removeTestObjects,
  ROOT,
  RUN_ID,
  TEST_IMAGE,
  TEST_LABEL,
  uniqueName,
} from '../support/docker-harness.js';
import { echoThrough, freePort, openSocket, payload, readAll, sha256 } from '../support/net.js';
import { ProxyProcess } from '../support/proxy-process.js';

/** Reads the test server's greeting line through the proxy. */
async function greeting(port: number): Promise<string> {
  const socket = await openSocket(port);
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0] ?? '');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      reject(new Error(`closed before a greeting (got "${text}")`));
    });
  });
  socket.destroy();
  return line;
}

dockerSuite('static mode: waking a group', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a cold wake holds the connection and splices it through with every byte intact (3 MiB, checksummed)', async () => {
    const group = uniqueName('cold');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      assert.equal((await containerState(member)).status, 'created');
      const data = payload(3 * 1024 * 1024);
      const echoed = await echoThrough(port, data);
      assert.equal(echoed.length, data.length);
      assert.equal(sha256(echoed), sha256(data));
      assert.equal((await containerState(member)).status, 'running');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): connection from 127\\.0\\.0\\.1:\\d+`));
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Starting => Running\\)`));
    } finally {
      await proxy.stop();
    }
  });

  it('a burst of 100 connections to a cold group gets 100 answers and exactly one start per member', async () => {
    const group = uniqueName('burst');
    const [port, upstream, other] = [await freePort(), await freePort(), await freePort()];
    await createMember({ group, name: `${group}-web`, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    await createMember({ group, name: `${group}-sidecar`, server: ['--port', String(other), '--host', '127.0.0.1'] });
    const since = Math.floor(Date.now() / 1000) - 1;
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => echoThrough(port, Buffer.from(`request ${i}`))));
      assert.deepEqual(
        answers.map((a) => a.toString()),
        Array.from({ length: 100 }, (_, i) => `request ${i}`),
      );
      const starts = await groupEvents(group, since, 'start');
      assert.deepEqual(starts.sort(), [`${group}-sidecar`, `${group}-web`]);
    } finally {
      await proxy.stop();
    }
  });

  it('with a healthcheck, nothing is forwarded before the member is healthy', async () => {
    const group = uniqueName('health');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--greet', '--healthy-after', '3000'],
      healthIntervalMs: 200,
    });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      const line = await greeting(port);
      assert.match(line, /healthy=true/, 'the server listened at once but must not see traffic before it is healthy');
      const uptime = Number(/uptime=(\d+)/.exec(line)?.[1]);
      assert.ok(uptime >= 3000, `forwarded after ${uptime}ms of uptime`);
    } finally {
      await proxy.stop();
    }
  });

  it('with --no-health, connections are forwarded once the member runs', async () => {
    const group = uniqueName('nohealth');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({
      group,
      server: ['--port', String(upstream), '--host', '127.0.0.1', '--greet', '--healthy-after', '3000'],
      healthIntervalMs: 200,
    });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--no-health']);
    try {
      const line = await greeting(port);
      assert.match(line, /healthy=false/);
    } finally {
      await proxy.stop();
    }
  });

  it('running is not listening: the upstream connect is retried until the server listens', async () => {
    const group = uniqueName('late');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1', '--greet', '--listen-after', '1500'] });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      const line = await greeting(port);
      const uptime = Number(/uptime=(\d+)/.exec(line)?.[1]);
      assert.ok(uptime >= 1500 && uptime < 2500, `answered ${uptime}ms after start, soon after the server listened at 1500ms`);
    } finally {
      await proxy.stop();
    }
  });

  it('resolves the upstream name at every connect: a stopped container has no DNS name until it starts', async () => {
    const group = uniqueName('dns');
    const network = await createNetwork();
    const alias = uniqueName('app');
    const port = await freePort();
    const member = await createMember({ group, network, aliases: [alias], server: ['--port', '5000', '--greet'] });
    const socketPath = (process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
    const sidecar = await docker.createContainer({
      name: uniqueName('proxy'),
      Image: TEST_IMAGE,
      Cmd: ['/app/bin/proxytainer', '--port', '5001', '--host', `${alias}:5000`, '--group', group, '--idle', '1'],
      Env: ['PROXYTAINER_LOG=debug'],
      Labels: { [TEST_LABEL]: RUN_ID },
      ExposedPorts: { '5001/tcp': {} },
      HostConfig: {
        NetworkMode: network,
        Binds: [`${ROOT}:/app:ro`, `${socketPath}:/var/run/docker.sock`],
        PortBindings: { '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      },
    });
    await sidecar.start();
    const logs = async (): Promise<string> => (await sidecar.logs({ stdout: true, stderr: true })).toString();
    try {
      const deadline = Date.now() + 15_000;
      while (!(await logs()).includes('listening on')) {
        if (Date.now() > deadline) throw new Error(`the proxy container did not listen:\n${await logs()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(await greeting(port), /^hello /);
      const deadline2 = Date.now() + 15_000;
      while (!(await logs()).includes('State change (Stopping => Idle)')) {
        if (Date.now() > deadline2) throw new Error(`the group did not go to sleep:\n${await logs()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal((await containerState(member)).status, 'exited');
      assert.match(await greeting(port), /^hello /, 'woken again, the container is found under its name again');
    } finally {
      await sidecar.remove({ force: true });
    }
  });

  it('bytes a client sent before closing its side still get their answer (half-close while held)', async () => {
    const group = uniqueName('halfclose');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'], healthIntervalMs: 200 });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      const socket = await openSocket(port);
      const result = readAll(socket);
      socket.end('ping\n');
      assert.equal((await result).data.toString(), 'ping\n');
    } finally {
      await proxy.stop();
    }
  });
});
