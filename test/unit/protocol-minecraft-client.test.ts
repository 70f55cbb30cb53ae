import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mc from 'minecraft-protocol';
import { encodeLoginDisconnect } from '../../src/core/protocols/minecraft-disconnect.js';
import { readMinecraftHandshake } from '../../src/core/protocols/minecraft-handshake.js';
import { encodePong, encodeStatusResponse, readStatusPacket } from '../../src/core/protocols/minecraft-status.js';
import { closeServer, listenLocal } from '../support/net.js';

const MOTD = 'Asleep - joining starts it';
const KICK = 'The server is starting, try again in a moment';

/**
 * A stand-in for the listener's Minecraft path, built only from this folder's
 * readers and encoders: status pings are answered, logins are turned away.
 */
function sleepingServer(): { server: Server; names: (string | null)[] } {
  const names: (string | null)[] = [];
  const server = createServer((socket: Socket) => {
    let data = Buffer.alloc(0);
    let handled = 0; // bytes already answered
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const read = readMinecraftHandshake(data);
      if (read.kind !== 'handshake') {
        if (read.kind !== 'need-more') socket.destroy();
        return;
      }
      const { handshake } = read;
      if (handled === 0) {
        names.push(handshake.serverName);
        handled = handshake.length;
      }
      if (handshake.nextState !== 'status') {
        socket.end(encodeLoginDisconnect(KICK));
        return;
      }
      for (;;) {
        const packet = readStatusPacket(data, handled);
        if (packet.kind === 'need-more') return;
        if (packet.kind === 'malformed') {
          socket.destroy();
          return;
        }
        handled = packet.end;
        if (packet.value.kind === 'status-request') {
          socket.write(encodeStatusResponse({ versionName: 'asleep', protocol: handshake.protocolVersion, maxPlayers: 20, onlinePlayers: 0, motd: MOTD }));
        } else {
          socket.end(encodePong(packet.value.payload));
        }
      }
    });
  });
  return { server, names };
}

describe('the Minecraft encoders, as a real client (minecraft-protocol) reads them', () => {
  let port = 0;
  let names: (string | null)[] = [];
  let server: Server;
  before(async () => {
    ({ server, names } = sleepingServer());
    port = await listenLocal(server);
  });
  after(() => closeServer(server));

  // The client dials 127.0.0.1 but names mc.example.test, as it would through DNS.
  const viaLoopback = (client: mc.Client): void => {
    client.setSocket(connect(port, '127.0.0.1'));
  };

  for (const version of ['1.8.9', '1.21.1', '1.21.4']) {
    it(`a ${version} client's ping gets our status as compatible, and its pong`, async () => {
      const options = { host: 'mc.example.test', port: 25565, version, connect: viaLoopback, noPongTimeout: 10_000, closeTimeout: 10_000 };
      const result = (await mc.ping(options)) as mc.NewPingResult & { latency?: number };
      assert.deepEqual(result.version, { name: 'asleep', protocol: protocolOf(version) });
      assert.deepEqual(result.players, { max: 20, online: 0 });
      assert.deepEqual(result.description, { text: MOTD });
      assert.equal(typeof result.latency, 'number', 'the pong arrived');
      assert.equal(names.at(-1), 'mc.example.test');
    });
  }

  for (const version of ['1.8.9', '1.21.1']) {
    it(`a ${version} client's login is kicked with our message`, async () => {
      const reason = await new Promise<string>((resolve, reject) => {
        const client = mc.createClient({ host: 'mc.example.test', port: 25565, username: 'Steve', auth: 'offline', version, connect: viaLoopback });
        const timer = setTimeout(() => {
          reject(new Error('no disconnect within 10 s'));
        }, 10_000);
        client.on('error', () => undefined);
        client.once('disconnect', (packet: { reason: string }) => {
          clearTimeout(timer);
          resolve(packet.reason);
        });
      });
      assert.deepEqual(JSON.parse(reason), { text: KICK });
    });
  }
});

/** The protocol number minecraft-protocol uses for a version, which the status must echo. */
function protocolOf(version: string): number {
  const known: Record<string, number> = { '1.8.9': 47, '1.12.2': 340, '1.20.4': 765, '1.21.1': 767, '1.21.4': 769 };
  const value = known[version];
  if (value === undefined) throw new Error(`no protocol number for ${version}`);
  return value;
}
