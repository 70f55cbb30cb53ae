import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { Listener } from '../../src/core/listener.js';
import { Proxy } from '../../src/core/proxy.js';
import { STOP } from '../../src/core/sleep-plan.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { freePort, openSocket, readAll } from '../support/net.js';
import { eventually } from '../support/wait.js';

const DEFAULTS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 5_000, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP/1.1 request naming `host`, half-closed; the answer. */
async function ask(port: number, host: string): Promise<string> {
  const socket = await openSocket(port);
  socket.end(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  return (await readAll(socket)).data.toString();
}

describe('a shared port in discovery mode, as labels come and go', () => {
  it('keeps one listener while groups join and leave it, routing each name to its group as the labels say now', async () => {
    const backend = new FakeRuntime();
    const logger = new MemoryLogger();
    const proxy = new Proxy({ runtime: backend, clock: systemClock, logger, maxHeld: 100 });
    const discovery = new Discovery({ catalog: backend, proxy, logger, defaults: DEFAULTS, bind: '127.0.0.1', graceMs: 0 });
    backend.follow();
    await discovery.start();
    cleanups.push(async () => {
      await discovery.stop();
      await proxy.shutdown(0);
      await backend.close();
    });
    const [port, upA, upB] = [await freePort(), await freePort(), await freePort()];
    const labels = (upstream: number, names: string): Record<string, string> => ({ 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream}`, 'proxytainer.hostname': names });
    const listener = (): Listener | undefined => proxy.allListeners().find((l): l is Listener => l instanceof Listener && l.port === port);
    const routes = (): string[] => (listener()?.routes() ?? []).map((r) => `${r.group.name}:${r.hostnames.join(' ')}`);

    backend.add('a', 'a-1', { servesPort: upA, labels: labels(upA, 'a.test') });
    await eventually(() => routes().length === 1, 5_000, 'the port for group a');
    const first = listener();
    assert.match(await ask(port, 'b.test'), /^HTTP\/1\.1 421 /);

    backend.add('b', 'b-1', { servesPort: upB, labels: labels(upB, 'b.test') });
    await eventually(() => routes().length === 2, 5_000, 'group b to join the port');
    assert.equal(listener(), first, 'the port stays open: its routes change in place');
    assert.deepEqual(routes(), ['a:a.test', 'b:b.test']);

    await backend.remove('a-1');
    await eventually(() => routes().length === 1, 5_000, 'group a to leave the port');
    assert.equal(listener(), first);
    assert.deepEqual(routes(), ['b:b.test']);
    assert.match(await ask(port, 'a.test'), /^HTTP\/1\.1 421 /);
    assert.equal(backend.count('start b-1'), 0, 'no request named b yet');
  });
});
