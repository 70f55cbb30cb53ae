import assert from 'node:assert/strict';
import { STOP } from '../../src/core/sleep-plan.js';
import { afterEach, describe, it } from 'node:test';
import { statusFromBackend } from '../../src/control/backend-status.js';
import { ProxyControl } from '../../src/control/proxy-control.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { Proxy } from '../../src/core/proxy.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { echoThrough, freePort, payload, sha256 } from '../support/net.js';
import { eventually } from '../support/wait.js';

const DEFAULTS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 10_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Discovery mode over the in-memory backend: the same core and discovery code the Docker backend drives. */
async function discoveryOn(backend: FakeRuntime, defaults: Partial<GroupSettings> = {}, clock: Clock = systemClock) {
  const logger = new MemoryLogger();
  const proxy = new Proxy({ runtime: backend, clock, logger, maxHeld: 100 });
  const discovery = new Discovery({ catalog: backend, proxy, logger, defaults: { ...DEFAULTS, ...defaults }, bind: '127.0.0.1', graceMs: 0 });
  backend.follow();
  await discovery.start();
  cleanups.push(async () => {
    await discovery.stop();
    await proxy.shutdown(0);
    await backend.close();
  });
  const listening = (port: number): boolean => proxy.allListeners().some((l) => l.port === port);
  return { proxy, discovery, logger, listening };
}

describe('discovery mode on an in-memory backend (a second backend behind the same ports)', () => {
  it('a labelled member gets its listener; a connection wakes it and is spliced; idle puts it to sleep; removal closes the port', async () => {
    const backend = new FakeRuntime();
    const [port, upstream] = [await freePort(), await freePort()];
    const { proxy, listening } = await discoveryOn(backend, { idleMs: 300 });
    assert.equal(listening(port), false);

    backend.add('web', 'web-1', { servesPort: upstream, labels: { 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream}` } });
    await eventually(() => listening(port), 5_000, `a listener on port ${port}`);
    assert.equal(backend.serving('web-1'), false, 'finding a member does not wake it');

    const data = payload(256 * 1024);
    const echoed = await echoThrough(port, data);
    assert.equal(sha256(echoed), sha256(data));
    assert.equal(backend.count('start web-1'), 1);
    assert.equal(proxy.findGroup('web')?.state, 'Running');

    await eventually(() => !backend.serving('web-1'), 5_000, 'the idle stop');
    assert.equal(backend.count('stop web-1'), 1);
    assert.equal(proxy.findGroup('web')?.state, 'Idle');

    await backend.remove('web-1');
    await eventually(() => !listening(port), 5_000, `port ${port} to close`);
    assert.equal(proxy.findGroup('web'), undefined);
  });

  it('status reads the groups through the ports, from the running proxy and from the backend alone', async () => {
    const backend = new FakeRuntime();
    const port = await freePort();
    backend.add('db', 'db-1', { labels: { 'proxytainer.port': `${port},nope` } });
    const { proxy, discovery, listening } = await discoveryOn(backend);
    await eventually(() => listening(port), 5_000, `a listener on port ${port}`);

    const info = { pid: 1, version: 'test', mode: 'discovery', docker: backend.endpoint, controlSocket: '-', startedAt: new Date(0).toISOString() } as const;
    const fromProxy = new ProxyControl(proxy, info, () => discovery.currentProblems()).status();
    assert.deepEqual(fromProxy.groups.map((g) => [g.name, g.state, g.listeners.map((l) => l.port)]), [['db', 'Idle', [port]]]);
    assert.match(fromProxy.problems[0]?.message ?? '', /"nope" is not a port/);

    const fromBackend = await statusFromBackend(backend, new AbortController().signal);
    assert.deepEqual(fromBackend.groups.map((g) => [g.name, g.proxy, g.members.total]), [['db', null, 1]]);
    assert.match(fromBackend.problems[0]?.message ?? '', /"nope" is not a port/);
  });

  it('a group that declares no port is not this proxy\'s: it is neither woken nor put to sleep from here', async () => {
    const backend = new FakeRuntime();
    const clock = new FakeClock();
    const port = await freePort();
    backend.add('mine', 'web', { phase: 'running', labels: { 'proxytainer.port': String(port) } });
    backend.add('theirs', 'svc', { phase: 'running' }); // served by a static-mode proxy elsewhere
    const { proxy, listening } = await discoveryOn(backend, { idleMs: 1_000 }, clock);
    await eventually(() => listening(port), 5_000, `a listener on port ${port}`);
    assert.deepEqual(proxy.allGroups().map((g) => g.name), ['mine']);
    await clock.advance(5_000);
    assert.equal(backend.count('stop web'), 1, 'its own group idles out');
    assert.equal(backend.count('stop svc'), 0, 'the other proxy\'s group is left alone');
  });
});
