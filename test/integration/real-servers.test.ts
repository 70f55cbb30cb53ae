import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { containerState, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { freePort, payload, sha256 } from '../support/net.js';
import { ProxyProcess } from '../support/proxy-process.js';
import { createPostgresMember, createRedisMember, realServersSuite } from '../support/real-servers.js';
import { pgbench, psql, redisCli } from '../support/server-clients.js';

/** A number pgbench printed after `label: `, or a failure showing its whole output. */
function pgbenchFigure(output: string, label: string): number {
  const match = new RegExp(`^${label}: (\\d+)`, 'm').exec(output);
  assert.ok(match?.[1] !== undefined, `pgbench printed no "${label}":\n${output}`);
  return Number(match[1]);
}

realServersSuite('real servers through proxytainer (static mode)', () => {
  before(removeTestObjects);
  after(removeTestObjects);

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
