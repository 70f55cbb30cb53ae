import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { afterEach, describe, it } from 'node:test';
import { startObservability } from '../../src/cli/observability.js';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { fixedUpstream } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import type { StateChange } from '../../src/core/wake-history.js';
import { WakeHistory } from '../../src/core/wake-history.js';
import { ProxyMetrics } from '../../src/metrics/proxy-metrics.js';
import type { WebhookDocument } from '../../src/webhooks/webhook-document.js';
import { Webhooks } from '../../src/webhooks/webhooks.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { startReceiver } from '../support/http-receiver.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { sample } from '../support/metrics-text.js';
import { echoThrough, freePort } from '../support/net.js';
import { eventually } from '../support/wait.js';

const SETTINGS: GroupSettings = { idleMs: 300, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A proxy on loopback sockets whose state changes go to `urls`, composed as `run --webhook` composes it. */
async function setup(urls: readonly string[]) {
  const runtime = new FakeRuntime();
  const upstreamPort = await freePort();
  runtime.add('g', 'web', { servesPort: upstreamPort });
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime, clock: systemClock, logger, maxHeld: 100 });
  const history = new WakeHistory(proxy, { clock: systemClock, logger });
  const stop = await startObservability({
    proxy,
    history,
    metrics: null,
    metricsAddress: undefined,
    webhooks: urls.map((url) => new URL(url)),
    webhookFor: () => undefined,
    pid: 4121,
    version: '9.9.9',
    clock: systemClock,
    logger,
  });
  const group = proxy.group('g', SETTINGS);
  const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream: fixedUpstream({ host: '127.0.0.1', port: upstreamPort }) }, group);
  await group.settled();
  cleanups.push(async () => {
    await proxy.shutdown(0);
    await stop();
    history.close();
    await runtime.close();
  });
  return { group, port: listener.port, logger };
}

/** One echo through the proxy, timed from connect to the last byte back. */
async function timedEcho(port: number): Promise<number> {
  const started = performance.now();
  assert.equal((await echoThrough(port, Buffer.from('ping'))).toString(), 'ping');
  return performance.now() - started;
}

describe('webhooks to a real HTTP receiver', () => {
  it('gets the four changes of a wake and an idle stop, in order, each one JSON document that says who woke the group', async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const { port } = await setup([receiver.url]);
    const client = echoThrough(port, Buffer.from('hello'));
    await client;
    await receiver.received(4);
    const docs = receiver.requests.map((r) => JSON.parse(r.body) as WebhookDocument);
    assert.deepEqual(
      docs.map((d) => `${d.from} => ${d.to}`),
      ['Idle => Starting', 'Starting => Running', 'Running => Stopping', 'Stopping => Idle'],
    );
    for (const request of receiver.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.url, '/hook');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['user-agent'], 'proxytainer/9.9.9');
    }
    const [started, ready, stopping, idle] = docs;
    assert.equal(started?.group, 'g');
    assert.deepEqual(started.proxy, { pid: 4121, version: '9.9.9' });
    assert.match(started.reason, /^connection from 127\.0\.0\.1:\d+ on port \d+$/);
    assert.deepEqual({ ...started.wake?.by, client: null }, { kind: 'connection', client: null, port });
    assert.equal(started.wake?.result, 'starting');
    assert.ok(Math.abs(Date.parse(started.at) - Date.now()) < 10_000, `at is the wall-clock time: ${started.at}`);
    assert.equal(ready?.wake?.result, 'ready');
    assert.equal(typeof ready.wake.durationSeconds, 'number');
    assert.equal(ready.wake.reason, started.reason);
    assert.equal(stopping?.reason, 'no traffic for 300ms');
    assert.equal(stopping.wake, undefined);
    assert.equal(idle?.reason, 'every member stopped');
  });

  it('a receiver that is down, one that never answers, and one that answers 500 never delay a connection; the 500 one gets retries, in order', async () => {
    let failures = 3;
    const failing = await startReceiver(() => (failures-- > 0 ? 500 : 204));
    const hanging = await startReceiver(() => 'hang');
    cleanups.push(failing.close, hanging.close);
    const down = `http://127.0.0.1:${await freePort()}/hook`;
    const { port, group } = await setup([down, hanging.url, failing.url]);
    // The wake and the first echo happen while the hanging receiver holds its first request and the others fail.
    const cold = await timedEcho(port);
    await hanging.received(1);
    assert.equal(hanging.requests.length, 1, 'one request at a time per URL: the next change waits behind the unanswered one');
    const warm = await timedEcho(port);
    assert.ok(warm < 1000, `a warm echo took ${warm.toFixed(0)}ms`);
    assert.ok(cold < 5000, `a cold echo took ${cold.toFixed(0)}ms`);
    await eventually(() => group.state === 'Idle', 10_000, 'the idle stop');
    // Three 500s, then every change of the wake and the stop, in order.
    await failing.received(3 + 4, 20_000);
    const delivered = failing.requests.slice(3).map((r) => JSON.parse(r.body) as WebhookDocument);
    assert.deepEqual(delivered.map((d) => d.to), ['Starting', 'Running', 'Stopping', 'Idle']);
    assert.deepEqual(
      failing.requests.slice(0, 3).map((r) => (JSON.parse(r.body) as WebhookDocument).to),
      ['Starting', 'Starting', 'Starting'],
      'the first change was retried until it got through',
    );
  });

  it('a full queue drops what does not fit, counts it (and the metrics show it), and says so in the log, throttled', async () => {
    const hanging = await startReceiver(() => 'hang');
    cleanups.push(hanging.close);
    const logger = new MemoryLogger();
    const webhooks = new Webhooks({
      urls: [new URL(`${hanging.url}?token=secret`)],
      urlFor: () => undefined,
      proxy: { pid: 1, version: '9.9.9' },
      clock: systemClock,
      logger,
      queue: { capacity: 2 },
    });
    cleanups.push(() => webhooks.close(0));
    const metrics = new ProxyMetrics('9.9.9');
    metrics.observe({ groups: () => [], onChange: () => () => undefined, onGroup: () => () => undefined, webhooks: () => webhooks.counts() });
    const change: StateChange = { group: 'g', from: 'Idle', to: 'Starting', reason: 'test', failed: false, at: 0, wake: null };
    const started = performance.now();
    for (let i = 0; i < 5; i++) webhooks.notify(change);
    const took = performance.now() - started;
    assert.ok(took < 50, `notify returns at once, whatever the receiver does: 5 took ${took.toFixed(1)}ms`);
    assert.deepEqual(webhooks.counts(), [{ webhook: hanging.url, delivered: 0, failed: 0, dropped: 3 }], 'the URL without its query; 2 queued, 3 dropped');
    const { body } = await metrics.render();
    assert.equal(sample(body, `proxytainer_webhook_deliveries_total{webhook="${hanging.url}",result="dropped"}`), 3);
    assert.doesNotMatch(body, /secret/);
    assert.deepEqual(
      logger.matching(/dropped/),
      [`warn webhook ${hanging.url}: dropped 1 state change(s): 2 are already waiting (is the receiver down or slow?)`],
      'one line, then at most one every 10 s for the rest',
    );
    await hanging.received(1);
  });
});
