import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeLoginDisconnect } from '../../src/core/protocols/minecraft-disconnect.js';
import { type HandshakeResult, readMinecraftHandshake } from '../../src/core/protocols/minecraft-handshake.js';
import { encodeLegacyPingResponse, type LegacyPing, readLegacyPing } from '../../src/core/protocols/minecraft-legacy-ping.js';
import { encodeMcPacket, readMcPacket } from '../../src/core/protocols/minecraft-packet.js';
import { encodePong, encodeStatusResponse, type MinecraftStatus, readStatusPacket } from '../../src/core/protocols/minecraft-status.js';
import { encodeMcString, encodeVarInt, readMcString, readVarInt } from '../../src/core/protocols/minecraft-varint.js';
import { assertEveryPrefix, fixture } from '../support/handshake-fixtures.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const STATUS: MinecraftStatus = { versionName: 'asleep', protocol: 767, maxPlayers: 20, onlinePlayers: 0, motd: 'Asleep: joining starts it' };

function handshake(protocol: number, address: string, port: number, next: number, extra: Uint8Array = new Uint8Array(0)): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return encodeMcPacket(0, Buffer.concat([encodeVarInt(protocol), encodeMcString(address), portBytes, encodeVarInt(next), extra]));
}
function reason(result: { readonly kind: string }): string {
  assert.equal(result.kind, 'malformed', JSON.stringify(result));
  return 'reason' in result && typeof result.reason === 'string' ? result.reason : '';
}
/** A 1.6 legacy ping as wiki.vg describes it (no client here sends one). */
function legacyPing16(host: string, port: number, protocol = 78): Buffer {
  const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
  const data = Buffer.concat([Buffer.from([protocol]), Buffer.from([0, host.length]), utf16(host), Buffer.from([0, 0, port >> 8, port & 0xff])]);
  return Buffer.concat([hex('fe01fa 000b'), utf16('MC|PingHost'), Buffer.from([data.length >> 8, data.length & 0xff]), data]);
}

describe('Minecraft VarInt and String', () => {
  it('encodes and reads the wiki.vg examples', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [255, 'ff01'],
      [25565, 'ddc701'],
      [2097151, 'ffff7f'],
      [2147483647, 'ffffffff07'],
      [-1, 'ffffffff0f'],
      [-2147483648, '8080808008'],
    ];
    for (const [value, bytes] of cases) {
      assert.equal(encodeVarInt(value).toString('hex'), bytes, String(value));
      assert.deepEqual(readVarInt(hex(bytes)), { kind: 'value', value, end: bytes.length / 2 });
      assert.deepEqual(readVarInt(hex(bytes).subarray(0, bytes.length / 2 - 1)), { kind: 'need-more' });
    }
  });

  it('a VarInt of six or more bytes is malformed', () => {
    assert.deepEqual(readVarInt(hex('ffffffffff01')), { kind: 'malformed', reason: 'a VarInt longer than 5 bytes' });
    assert.deepEqual(readVarInt(hex('8080808080')), { kind: 'malformed', reason: 'a VarInt longer than 5 bytes' });
  });

  it('reads strings, and refuses negative or over-long lengths before reading a byte', () => {
    assert.deepEqual(readMcString(encodeMcString('héllo'), 0, 16), { kind: 'value', value: 'héllo', end: 7 });
    assert.deepEqual(readMcString(encodeMcString('héllo').subarray(0, 6), 0, 16), { kind: 'need-more' });
    assert.match(reason(readMcString(hex('ffffffff0f'), 0, 255)), /negative length -1/);
    assert.match(reason(readMcString(hex('ffffffff07'), 0, 32_767)), /2147483647 bytes, longer than the 32767 characters allowed/);
    assert.match(reason(readMcString(hex('8006'), 0, 255)), /768 bytes, longer than the 255 characters/);
    assert.match(reason(readMcString(encodeMcString('abc'), 0, 2)), /3 characters, longer than the 2 allowed/);
    assert.deepEqual(readMcString(hex('02 ff fe'), 0, 2), { kind: 'value', value: '\ufffd\ufffd', end: 3 });
  });

  it('reads a packet frame; a length of 0, or above the maximum, is malformed', () => {
    assert.deepEqual(readMcPacket(hex('03 01 aa bb'), 0, 16), { kind: 'value', value: { id: 1, body: hex('aabb') }, end: 4 });
    assert.match(reason(readMcPacket(hex('00'), 0, 16)), /length 0/);
    assert.match(reason(readMcPacket(hex('11'), 0, 16)), /length 17/);
    assert.match(reason(readMcPacket(hex('01 80'), 0, 16)), /packet id that does not fit/);
  });
});

describe('Minecraft handshake reader', () => {
  const expect = (file: string, fields: Record<string, unknown>): void => {
    const bytes = fixture(file);
    const result = readMinecraftHandshake(bytes);
    assert.equal(result.kind, 'handshake', JSON.stringify(result));
    for (const [key, value] of Object.entries(fields)) assert.deepEqual((result.handshake as unknown as Record<string, unknown>)[key], value, key);
    assertEveryPrefix(readMinecraftHandshake, bytes, result);
  };

  it('reads status and login handshakes from minecraft-protocol 1.21.1 and 1.8.9, cut at every byte', () => {
    expect('minecraft-status-1.21.1.bin', { protocolVersion: 767, serverName: 'mc.example.test', port: 25570, nextState: 'status', length: 23 });
    expect('minecraft-status-1.8.9.bin', { protocolVersion: 47, serverName: 'mc.example.test', nextState: 'status', length: 22 });
    expect('minecraft-login-1.21.1.bin', { protocolVersion: 767, serverName: 'mc.example.test', nextState: 'login' });
  });

  it("strips Forge's \\0FML3\\0 suffix, upper case and the trailing dot", () => {
    expect('minecraft-login-forge-1.21.1.bin', { address: 'MC.Example.Test.\0FML3\0', serverName: 'mc.example.test', nextState: 'login' });
  });

  it("strips BungeeCord's forwarded address; next state 3 is a transfer", () => {
    const bungee = `mc.example.test\u0000203.0.113.9\u0000069a79f444e94726a5befca90e38aaf5\u0000${'["x"]'.repeat(200)}`;
    const result = readMinecraftHandshake(handshake(767, bungee, 25565, 3));
    assert.equal(result.kind === 'handshake' && result.handshake.serverName, 'mc.example.test');
    assert.equal(result.kind === 'handshake' && result.handshake.nextState, 'transfer');
  });

  it('an empty or non-name address has no name', () => {
    const name = (address: string): string | null | undefined => {
      const result = readMinecraftHandshake(handshake(767, address, 25565, 2));
      return result.kind === 'handshake' ? result.handshake.serverName : undefined;
    };
    assert.equal(name(''), null);
    assert.equal(name('::1'), null);
    assert.equal(name('127.0.0.1'), '127.0.0.1');
  });

  it('leaves what follows the handshake for the status reader: Status Request, then Ping', () => {
    const bytes = fixture('minecraft-status-1.21.1.bin');
    const result = readMinecraftHandshake(bytes);
    assert.equal(result.kind, 'handshake');
    const request = readStatusPacket(bytes, result.handshake.length);
    assert.deepEqual(request, { kind: 'value', value: { kind: 'status-request' }, end: 25 });
    const ping = readStatusPacket(bytes, 25);
    assert.deepEqual(ping, { kind: 'value', value: { kind: 'ping', payload: Buffer.alloc(8) }, end: 35 });
    assert.deepEqual(readStatusPacket(bytes.subarray(0, 30), 25), { kind: 'need-more' });
    assert.match(reason(readStatusPacket(hex('02 01 00'), 0)), /status packet 0x1 with 1 bytes/);
  });

  it('is not Minecraft when the first bytes cannot start a handshake', () => {
    const not = { kind: 'not-minecraft' };
    assert.deepEqual(readMinecraftHandshake(hex('1603 0101')), not); // TLS: packet id 3
    assert.deepEqual(readMinecraftHandshake(Buffer.from('GET / HTTP/1.1')), not);
    assert.deepEqual(readMinecraftHandshake(hex('00')), not);
    assert.deepEqual(readMinecraftHandshake(hex('ffffffffff')), not);
    assert.deepEqual(readMinecraftHandshake(hex('ffffff7f 00')), not); // longer than the read limit
    assert.deepEqual(readMinecraftHandshake(hex('02 8000')), not); // id 0 spelled in two bytes
    assert.deepEqual(readMinecraftHandshake(hex('16')), { kind: 'need-more' });
    assert.deepEqual(readMinecraftHandshake(hex('16 00')), { kind: 'need-more' });
  });

  it('names what is wrong in a broken handshake', () => {
    assert.match(reason(readMinecraftHandshake(handshake(767, 'a.example', 1, 0))), /next state 0/);
    assert.match(reason(readMinecraftHandshake(handshake(767, 'a.example', 1, 4))), /next state 4/);
    assert.match(reason(readMinecraftHandshake(handshake(767, 'a.example', 1, 2, hex('00')))), /1 bytes after the handshake's fields/);
    assert.match(reason(readMinecraftHandshake(handshake(767, 'a'.repeat(256), 1, 2))), /256 characters \(at most 255\)/);
    assert.match(reason(readMinecraftHandshake(encodeMcPacket(0, Buffer.concat([encodeVarInt(767), hex('ffffffff0f')])))), /server address: a string of negative length/);
    assert.match(reason(readMinecraftHandshake(encodeMcPacket(0, Buffer.concat([encodeVarInt(767), encodeMcString('a.example'), hex('63')])))), /server port runs past/);
    assert.match(reason(readMinecraftHandshake(encodeMcPacket(0, hex('ffffffffff01')))), /protocol version: a VarInt longer than 5 bytes/);
  });
});

describe('Minecraft legacy ping', () => {
  it('reads a 1.6 ping with its host, cut at every byte', () => {
    const bytes = legacyPing16('MC.Example.Test', 25565);
    const expected: LegacyPing = { variant: '1.6', protocolVersion: 78, serverName: 'mc.example.test', port: 25565, length: bytes.length };
    assertEveryPrefix((b) => readLegacyPing(b), bytes, { kind: 'legacy-ping', ping: expected });
  });

  it('a lone 0xFE or 0xFE 0x01 waits, and is decided as beta or 1.4 once the client stops sending', () => {
    assert.deepEqual(readLegacyPing(hex('fe')), { kind: 'need-more' });
    assert.deepEqual(readLegacyPing(hex('fe01')), { kind: 'need-more' });
    assert.deepEqual(readLegacyPing(hex('fe'), true), { kind: 'legacy-ping', ping: { variant: 'beta', protocolVersion: null, serverName: null, port: null, length: 1 } });
    assert.deepEqual(readLegacyPing(hex('fe01'), true), { kind: 'legacy-ping', ping: { variant: '1.4', protocolVersion: null, serverName: null, port: null, length: 2 } });
  });

  it('is not a legacy ping when a modern packet of 254+ bytes starts the same way', () => {
    assert.deepEqual(readLegacyPing(hex('fe0100')), { kind: 'not-legacy-ping' });
    assert.deepEqual(readLegacyPing(hex('fe02')), { kind: 'not-legacy-ping' });
    assert.deepEqual(readLegacyPing(hex('16')), { kind: 'not-legacy-ping' });
  });

  it('names what is wrong in a broken 1.6 ping', () => {
    const bytes = legacyPing16('a.example', 25565);
    assert.match(reason(readLegacyPing(Buffer.concat([hex('fe01fa 000c'), bytes.subarray(5)]))), /12 characters, not 11/);
    const wrongChannel = Buffer.from(bytes);
    wrongChannel[6] = 0x4e; // 'N'
    assert.match(reason(readLegacyPing(wrongChannel)), /channel other than MC\|PingHost/);
    const wrongLength = Buffer.from(bytes);
    wrongLength.writeUInt16BE(wrongLength.readUInt16BE(27) + 2, 27);
    assert.match(reason(readLegacyPing(Buffer.concat([wrongLength, hex('0000')]))), /bytes of data for a 9-character host/);
    const huge = Buffer.from(bytes);
    huge.writeUInt16BE(0xffff, 27);
    assert.match(reason(readLegacyPing(huge)), /does not fit in the 16384-byte read limit/);
  });

  it('answers in the kick format: §1 fields for 1.4+, echoing a 1.6 client protocol; motd§online§max for beta', () => {
    const decode = (b: Buffer): string => {
      assert.equal(b[0], 0xff);
      const text = Buffer.from(b.subarray(3)).swap16().toString('utf16le');
      assert.equal(b.readUInt16BE(1), text.length);
      return text;
    };
    const ping16: LegacyPing = { variant: '1.6', protocolVersion: 78, serverName: 'a', port: 1, length: 0 };
    assert.equal(decode(encodeLegacyPingResponse(ping16, STATUS)), '§1\u000078\u0000asleep\u0000Asleep: joining starts it\u00000\u000020');
    assert.equal(decode(encodeLegacyPingResponse({ ...ping16, variant: '1.4', protocolVersion: null }, STATUS)), '§1\u0000127\u0000asleep\u0000Asleep: joining starts it\u00000\u000020');
    assert.equal(decode(encodeLegacyPingResponse({ ...ping16, variant: 'beta' }, { ...STATUS, motd: '§cAsleep' })), 'cAsleep§0§20');
  });
});

describe('Minecraft encoders', () => {
  it('Status Response is packet 0 with the status JSON', () => {
    const packet = readMcPacket(encodeStatusResponse(STATUS), 0, 100_000);
    assert.equal(packet.kind, 'value');
    assert.equal(packet.value.id, 0);
    const json = readMcString(packet.value.body, 0, 32_767);
    assert.deepEqual(JSON.parse(json.kind === 'value' ? json.value : '{}'), {
      version: { name: 'asleep', protocol: 767 },
      players: { max: 20, online: 0 },
      description: { text: 'Asleep: joining starts it' },
    });
  });

  it('Pong echoes the 8 bytes; login Disconnect is packet 0 with a JSON text component', () => {
    assert.equal(encodePong(hex('0102030405060708')).toString('hex'), '09010102030405060708');
    const packet = readMcPacket(encodeLoginDisconnect('Starting, try again in a moment'), 0, 1000);
    assert.equal(packet.kind === 'value' && packet.value.id, 0);
    const text = packet.kind === 'value' ? readMcString(packet.value.body, 0, 262_144) : null;
    assert.deepEqual(JSON.parse(text?.kind === 'value' ? text.value : '{}'), { text: 'Starting, try again in a moment' });
  });

  it('the handshake reader and the encoder agree on the fields', () => {
    const result: HandshakeResult = readMinecraftHandshake(handshake(-1, 'x.example', 65535, 1));
    assert.deepEqual(result, {
      kind: 'handshake',
      handshake: { protocolVersion: -1, address: 'x.example', serverName: 'x.example', port: 65535, nextState: 'status', length: 20 },
    });
  });
});
