import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import mc from 'minecraft-protocol';
import { connect } from 'node:net';
import { systemClock } from '../../src/core/clock.js';
import { type GroupSettings, OPEN_WAKE_RULES } from '../../src/core/group.js';
import { parseHostnamePattern } from '../../src/core/protocols/hostname-pattern.js';
import { Proxy } from '../../src/core/proxy.js';
import { STOP } from '../../src/core/sleep-plan.js';
import { fixedUpstream } from '../../src/core/upstream-source.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { freePort } from '../support/net.js';

const SETTINGS: GroupSettings = { idleMs: 60_000, idleThresholdBytes: 0, health: true, startTimeoutMs: 1_500, stopTimeoutSeconds: undefined, connectionsKeepAwake: false, sleep: STOP, ...OPEN_WAKE_RULES };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(motd: string | undefined): Promise<{ runtime: FakeRuntime; port: number }> {
  const runtime = new FakeRuntime();
  runtime.add('mc', 'mc-1');
  const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10 });
  cleanups.push(() => proxy.shutdown(0));
  // Nothing listens upstream: a login is held until its bound.
  const upstream = fixedUpstream({ host: '127.0.0.1', port: await freePort() });
  const listener = await proxy.listen({ port: 0, bind: '127.0.0.1', upstream, minecraft: { motd } }, proxy.group('mc', SETTINGS));
  return { runtime, port: listener.port };
}

describe('a Minecraft group while it sleeps, as minecraft-protocol sees it', () => {
  for (const version of ['1.8.9', '1.21.1']) {
    it(`answers a ${version} status ping with the MOTD and a pong, and starts nothing`, async () => {
      const { runtime, port } = await setup('Zzz: join to start');
      const result = (await mc.ping({ host: '127.0.0.1', port, version, noPongTimeout: 5_000, closeTimeout: 5_000 })) as mc.NewPingResult & { latency?: number };
      assert.deepEqual(result.description, { text: 'Zzz: join to start' });
      assert.deepEqual(result.players, { max: 20, online: 0 });
      assert.equal(typeof result.latency, 'number', 'the pong arrived');
      assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), []);
    });
  }

  it('wakes the group on a login, and tells the player to come back when the server is not there in time', async () => {
    const { runtime, port } = await setup(undefined);
    const reason = await new Promise<string>((resolve, reject) => {
      const client = mc.createClient({ host: '127.0.0.1', port, username: 'Steve', auth: 'offline', version: '1.21.1' });
      const timer = setTimeout(() => {
        reject(new Error('no disconnect within 10s'));
      }, 10_000);
      client.on('error', () => undefined);
      client.once('disconnect', (packet: { reason: string }) => {
        clearTimeout(timer);
        resolve(packet.reason);
      });
    });
    assert.deepEqual(JSON.parse(reason), { text: 'The server is starting; try again in a moment.' });
    assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), ['start mc-1']);
  });

  it('routes by the server address the player typed: two servers behind one port each answer with their own MOTD', async () => {
    const runtime = new FakeRuntime();
    runtime.add('survival', 'survival-1');
    runtime.add('creative', 'creative-1');
    const proxy = new Proxy({ runtime, clock: systemClock, logger: new MemoryLogger(), maxHeld: 10 });
    cleanups.push(() => proxy.shutdown(0));
    const upstream = fixedUpstream({ host: '127.0.0.1', port: await freePort() });
    const route = (group: string, name: string) => ({ group: proxy.group(group, SETTINGS), upstream, hostnames: [parseHostnamePattern(name)], minecraft: { motd: `${group} sleeps` } });
    const listener = await proxy.listenTcp({ port: 0, bind: '127.0.0.1' }, [route('survival', 'survival.example.test'), route('creative', '*.creative.example.test')]);
    const viaLoopback = (client: mc.Client): void => {
      client.setSocket(connect(listener.port, '127.0.0.1'));
    };
    const motd = async (host: string): Promise<unknown> =>
      ((await mc.ping({ host, port: 25565, version: '1.21.1', connect: viaLoopback } as mc.PingOptions)) as mc.NewPingResult).description;
    assert.deepEqual(await motd('Survival.Example.Test'), { text: 'survival sleeps' });
    assert.deepEqual(await motd('eu.creative.example.test'), { text: 'creative sleeps' });
    assert.deepEqual(runtime.calls.filter((call) => call.startsWith('start')), []);
  });
});
