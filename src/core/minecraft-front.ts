import type { Socket } from 'node:net';
import type { Group } from './group.js';
import type { HoldBound } from './group-forwarder.js';
import { encodeLoginDisconnect } from './protocols/minecraft-disconnect.js';
import type { MinecraftHandshake } from './protocols/minecraft-handshake.js';
import { encodePong, encodeStatusResponse, type MinecraftStatus, readStatusPacket } from './protocols/minecraft-status.js';
import type { MinecraftRoute } from './route.js';
import type { Clock } from './clock.js';
import { readFirstBytes } from './first-bytes.js';
import { SNIFF_LIMIT } from './protocols/sniff-limit.js';
import type { Peer } from './socket-reader.js';

/**
 * How long a login is held while its group starts. Minecraft clients give up
 * on a login after about 30 s ("Timed out"); past this bound the player is
 * told the server is starting instead, and joins again a moment later. The
 * group's own --start-timeout still bounds the wake when it is shorter.
 */
export const MINECRAFT_LOGIN_HOLD_MS = 25_000;

/** The handshake (within SNIFF_LIMIT), then more than a Status Request and a Ping (2 and 10 bytes) ever take. */
const STATUS_BYTES = SNIFF_LIMIT + 64;

/** What the server list shows while the group sleeps or starts. */
export function minecraftStatus(group: Group, route: MinecraftRoute, protocolVersion: number): MinecraftStatus {
  const motd = route.motd ?? (group.state === 'Starting' ? 'Starting up: join again in a moment' : 'Asleep: join to start the server');
  // Echoing the client's protocol makes it show the server as compatible; the version name is then not shown.
  return { versionName: 'proxytainer', protocol: protocolVersion, maxPlayers: 20, onlinePlayers: 0, motd };
}

/** A login's hold: the shorter of the group's start timeout and the client's patience, then a disconnect that says why. */
export function loginHoldBound(group: Group): HoldBound {
  return {
    ms: Math.min(group.settings.startTimeoutMs, MINECRAFT_LOGIN_HOLD_MS),
    onGiveUp: (client: Socket, why) => {
      if (client.destroyed || !client.writable) {
        client.destroy();
        return;
      }
      const message = why === 'timeout' ? 'The server is starting; try again in a moment.' : 'The server could not be started; try again later.';
      client.end(encodeLoginDisconnect(message));
    },
  };
}

/**
 * Answers a status exchange (server list ping) after `handshake` without the
 * server: Status Response to the Status Request, Pong to the Ping, then the
 * connection ends. `bytes` are those read so far (the handshake first); reads
 * on as the client sends, for up to `timeoutMs`; closes on anything else.
 * Returns whether it answered.
 */
export async function answerStatus(client: Peer, bytes: Buffer, handshake: MinecraftHandshake, status: MinecraftStatus, options: { readonly clock: Clock; readonly timeoutMs: number }): Promise<boolean> {
  const socket = client.socket;
  const until = options.clock.now() + options.timeoutMs;
  let seen = bytes;
  let peer = client;
  let offset = handshake.length;
  let answered = false;
  for (;;) {
    const packet = readStatusPacket(seen, offset);
    if (packet.kind === 'malformed') break;
    if (packet.kind === 'value') {
      offset = packet.end;
      if (packet.value.kind === 'status-request') {
        socket.write(encodeStatusResponse(status));
        answered = true;
        continue;
      }
      socket.end(encodePong(packet.value.payload));
      return true;
    }
    // A peer from readFirstBytes hands a later look every byte from the first (withPrefix): `more.bytes` is all of them.
    const from = offset;
    const more = await readFirstBytes(peer, {
      enough: (all) => readStatusPacket(all, from).kind !== 'need-more',
      limit: STATUS_BYTES,
      timeoutMs: Math.max(0, until - options.clock.now()),
      clock: options.clock,
    });
    seen = more.bytes;
    peer = more.client;
    if (more.end !== 'enough') {
      if (readStatusPacket(seen, offset).kind === 'need-more') break;
    }
  }
  if (answered && !socket.destroyed) socket.end();
  else socket.destroy();
  return answered;
}
