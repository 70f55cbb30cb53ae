import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { freePort, payload, sha256 } from '../support/net.js';
import { ProxyProcess } from '../support/proxy-process.js';
import { containerLogs, createPostgresMember, createRedisMember, exitCode, realServersSuite } from '../support/real-servers.js';
import { runCli } from '../support/proxy-process.js';
import { pgbench, PsqlSession, psql, redisCli } from '../support/server-clients.js';

/** A number pgbench printed after `label: `, or a failure showing its whole output. */
function pgbenchFigure(output: string, label: string): number {
  const match = new RegExp(`^${label}: (\\d+)`, 'm').exec(output);
  assert.ok(match?.[1] !== undefined, `pgbench printed no "${label}":\n${output}`);
  return Number(match[1]);
}

realServersSuite('real servers through proxytainer (static mode)', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  for (const how of ['an idle stop', 'proxytainer sleep'] as const) {
    it(`${how} with a psql session open stops PostgreSQL cleanly: exit 0, no crash recovery at the next start`, async () => {
      const group = uniqueName('pgstop');
      const [port, upstream] = [await freePort(), await freePort()];
      const member = await createPostgresMember({ group, port: upstream });
      const idle = how === 'an idle stop' ? '2' : '300';
      const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', idle]);
      const session = await PsqlSession.open(port); // wakes the group; then open and silent, as a pooled connection is
      try {
        if (how === 'proxytainer sleep') {
          const slept = await runCli(['sleep', group]);
          assert.equal(slept.code, 0, slept.stderr);
        }
        await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\)`), 15_000);
        await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
        // Before the fix, smart shutdown waited for the session: Docker SIGKILLed PostgreSQL at its 10 s stop timeout.
        assert.equal(await exitCode(member), 0, 'Docker had to SIGKILL PostgreSQL (137): its smart shutdown waited for the open session');
        assert.equal((await psql(port, 'SELECT 1')).stdout, '1\n'); // the next wake, where crash recovery would run
        assert.doesNotMatch(await containerLogs(member), /database system was not properly shut down; automatic recovery in progress/);
      } finally {
        await session.close();
        await proxy.stop();
      }
    });
  }

  it('PostgreSQL from cold: pgbench -i through the proxy wakes it, then 4 clients for 3 s finish with 0 failed transactions', async () => {
    const group = uniqueName('pg');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createPostgresMember({ group, port: upstream });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      assert.equal((await containerState(member)).status, 'created');
      const init = await pgbench(port, ['-i', '-s', '1']);
      assert.equal(init.code, 0, `pgbench -i failed:\n${init.stderr}\nproxytainer:\n${proxy.log}`);
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): connection from 127\\.0\\.0\\.1:\\d+`));
      assert.equal((await containerState(member)).health, 'healthy');
      // The tables pgbench -i made through the proxy are in the member's server.
      assert.equal((await psql(upstream, 'SELECT count(*) FROM pgbench_accounts')).stdout.trim(), '100000');

      const run = await pgbench(port, ['-c', '4', '-j', '2', '-T', '3']);
      assert.equal(run.code, 0, `pgbench failed:\n${run.stdout}\n${run.stderr}`);
      assert.ok(pgbenchFigure(run.stdout, 'number of transactions actually processed') > 0, run.stdout);
      assert.equal(pgbenchFigure(run.stdout, 'number of failed transactions'), 0, run.stdout);
    } finally {
      await proxy.stop();
    }
  });

  it('Redis from cold: a 4 MB SET through the proxy wakes it and reads back intact (checksummed)', async () => {
    const group = uniqueName('redis');
    const [port, upstream] = [await freePort(), await freePort()];
    const member = await createRedisMember({ group, port: upstream });
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group]);
    try {
      assert.equal((await containerState(member)).status, 'created');
      const value = payload(4 * 1024 * 1024);
      // -x: the value is redis-cli's whole stdin, sent while the proxy holds the connection.
      const set = await redisCli(port, ['-x', 'SET', 'big'], { input: value });
      assert.equal(set.code, 0, set.stderr);
      assert.equal(set.stdout, 'OK\n');
      await proxy.waitFor(new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): connection from 127\\.0\\.0\\.1:\\d+`));
      assert.equal((await redisCli(upstream, ['STRLEN', 'big'])).stdout, `${value.length}\n`);

      const get = await redisCli(port, ['GET', 'big']);
      assert.equal(get.code, 0, get.stderr);
      // --raw prints the value's bytes as they are, then a newline.
      const read = get.stdoutBytes.subarray(0, get.stdoutBytes.length - 1);
      assert.equal(read.length, value.length);
      assert.equal(sha256(read), sha256(value));
    } finally {
      await proxy.stop();
    }
  });
});
