import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHeaderBlock } from '../../src/core/protocols/hpack-decoder.js';
import { readHttpRequestHead } from '../../src/core/protocols/http-request-head.js';
import { readHttp2Request } from '../../src/core/protocols/http2-request.js';
import { readMinecraftHandshake } from '../../src/core/protocols/minecraft-handshake.js';
import { readLegacyPing } from '../../src/core/protocols/minecraft-legacy-ping.js';
import { readStatusPacket } from '../../src/core/protocols/minecraft-status.js';
import { readMcString, readVarInt } from '../../src/core/protocols/minecraft-varint.js';
import { ParseError } from '../../src/core/protocols/parse-error.js';
import { SNIFF_LIMIT } from '../../src/core/protocols/sniff-limit.js';
import { type Sniffed, sniffProtocol } from '../../src/core/protocols/sniff-protocol.js';
import { readClientHello } from '../../src/core/protocols/tls-client-hello.js';
import { assertEveryPrefix, fixture, fixtureNames, seededRandom } from '../support/handshake-fixtures.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const KINDS = new Set(['need-more', 'tls', 'http', 'http2', 'minecraft', 'minecraft-legacy-ping', 'malformed', 'unknown']);

function summary(result: Sniffed): string {
  if (result.kind === 'malformed') return `malformed ${result.protocol}`;
  if (result.kind === 'need-more' || result.kind === 'unknown') return result.kind;
  return `${result.kind} ${result.name ?? '(none)'}`;
}

describe('protocol classifier on recorded handshakes', () => {
  const expected: Record<string, string> = {
    'http10-curl.bin': 'http app.example.test',
    'http11-curl-absolute-form.bin': 'http app.example.test',
    'http11-curl-ipv6-host.bin': 'http [::1]',
    'http11-curl-no-host.bin': 'http (none)',
    'http11-curl-post.bin': 'http app.example.test',
    'http11-curl.bin': 'http app.example.test',
    'http2-curl-prior-knowledge.bin': 'http2 app.example.test',
    'http2-node-prior-knowledge.bin': 'http2 app.example.test',
    'minecraft-login-1.21.1.bin': 'minecraft mc.example.test',
    'minecraft-login-forge-1.21.1.bin': 'minecraft mc.example.test',
    'minecraft-status-1.21.1.bin': 'minecraft mc.example.test',
    'minecraft-status-1.8.9.bin': 'minecraft mc.example.test',
    'tls-curl-tls12.bin': 'tls app.example.test',
    'tls-curl.bin': 'tls app.example.test',
    'tls-openssl-fragmented.bin': 'tls app.example.test',
    'tls-openssl-no-sni.bin': 'tls (none)',
    'tls-openssl.bin': 'tls app.example.test',
  };

  it('tells every fixture apart and finds its name, cut at every byte', () => {
    assert.deepEqual(fixtureNames(), Object.keys(expected).sort());
    for (const [file, want] of Object.entries(expected)) {
      const bytes = fixture(file);
      const result = sniffProtocol(bytes, { minecraft: true });
      assert.equal(summary(result), want, file);
      assertEveryPrefix((b) => sniffProtocol(b, { minecraft: true }), bytes, result);
    }
  });

  it('reads Minecraft only on a port that asks for it', () => {
    for (const file of fixtureNames().filter((f) => f.startsWith('minecraft-'))) {
      assert.equal(sniffProtocol(fixture(file), { minecraft: false }).kind, 'unknown', file);
    }
    assert.equal(summary(sniffProtocol(fixture('tls-curl.bin'), { minecraft: false })), 'tls app.example.test');
  });

  it('an incomplete fixture at the deadline is malformed in its own protocol once the protocol is clear', () => {
    const cut = (file: string, at: number): string => summary(sniffProtocol(fixture(file).subarray(0, at), { minecraft: true, final: true }));
    assert.equal(cut('tls-curl.bin', 100), 'malformed tls');
    assert.equal(cut('http11-curl.bin', 30), 'malformed http');
    assert.equal(cut('http2-curl-prior-knowledge.bin', 30), 'malformed http2');
    assert.equal(cut('minecraft-login-1.21.1.bin', 10), 'malformed minecraft');
    assert.equal(cut('http11-curl.bin', 1), 'unknown'); // "G": HTTP, or a 71-byte Minecraft packet
    assert.equal(cut('http11-curl.bin', 0), 'unknown');
  });
});

describe('protocol classifier on ambiguous first bytes', () => {
  const sniff = (bytes: Buffer, final = false): string => summary(sniffProtocol(bytes, { minecraft: true, final }));

  it('0x16 starts both a TLS record and a 22-byte Minecraft packet: the second byte decides', () => {
    assert.equal(sniff(hex('16')), 'need-more');
    assert.equal(sniff(hex('16 03')), 'need-more');
    assert.equal(sniff(hex('16 00')), 'need-more');
    assert.equal(sniff(hex('16 05')), 'unknown');
  });

  it('"G" starts both GET and a 71-byte Minecraft packet: the second byte decides', () => {
    assert.equal(sniff(Buffer.from('GE')), 'need-more');
    assert.equal(summary(sniffProtocol(Buffer.from('GE'), { minecraft: false })), 'need-more');
    assert.equal(sniff(hex('47 00')), 'need-more');
    assert.equal(sniff(hex('47 01')), 'unknown');
  });

  it('the HTTP/2 preface is never read as an HTTP/1 request', () => {
    assert.equal(sniff(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'need-more');
    assert.equal(sniff(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')), 'malformed http');
  });

  it('0xFE is a legacy ping or a long modern packet: what follows, or the deadline, decides', () => {
    assert.equal(sniff(hex('fe')), 'need-more');
    assert.equal(sniff(hex('fe'), true), 'minecraft-legacy-ping (none)');
    assert.equal(sniff(hex('fe 01')), 'need-more');
    assert.equal(sniff(hex('fe 01'), true), 'minecraft-legacy-ping (none)');
    assert.equal(sniff(hex('fe 01 fa')), 'need-more');
    assert.equal(sniff(hex('fe 01 00')), 'need-more'); // a 254-byte handshake
    assert.equal(summary(sniffProtocol(hex('fe'), { minecraft: false, final: true })), 'unknown');
  });

  it('says what it saw when nothing matches', () => {
    const result = sniffProtocol(hex('00 01 02 03 04 05 06 07 08 09'), { minecraft: false });
    assert.deepEqual(result, { kind: 'unknown', reason: 'no known protocol starts with the bytes 00 01 02 03 04 05 06 07 …' });
    assert.deepEqual(sniffProtocol(Buffer.alloc(0), { minecraft: true, final: true }), {
      kind: 'unknown',
      reason: 'no protocol could be told from no bytes before the client stopped sending (0 bytes)',
    });
  });
});

describe('the read limit', () => {
  it('always answers at 16 KiB, and bytes past it change nothing', () => {
    const longHead = Buffer.from(`GET / HTTP/1.1\r\nX: ${'x'.repeat(SNIFF_LIMIT)}`);
    assert.equal(summary(sniffProtocol(longHead, { minecraft: true })), 'malformed http');
    assert.deepEqual(sniffProtocol(longHead, { minecraft: true }), sniffProtocol(longHead.subarray(0, SNIFF_LIMIT), { minecraft: true }));
    // A head that would complete just past the limit is still too long.
    const justPast = Buffer.from(`GET / HTTP/1.1\r\nX: ${'x'.repeat(SNIFF_LIMIT - 30)}\r\nHost: a.example\r\n\r\n`);
    assert.ok(justPast.length > SNIFF_LIMIT);
    assert.equal(summary(sniffProtocol(justPast, { minecraft: true })), 'malformed http');
    const tlsPast = Buffer.concat([fixture('tls-curl.bin'), Buffer.alloc(SNIFF_LIMIT)]);
    assert.equal(summary(sniffProtocol(tlsPast.subarray(0, 200), { minecraft: true, limit: 200 })), 'malformed tls');
    // A TLS record header that promises 16 KiB of one-byte records never completes.
    const slowTls = Buffer.concat(Array.from({ length: 4000 }, (_, i) => (i === 0 ? hex('16 0301 0001 01') : hex('16 0301 0001 00'))));
    assert.equal(summary(sniffProtocol(slowTls, { minecraft: true })), 'malformed tls');
  });

  it('a smaller limit is honoured', () => {
    assert.equal(summary(sniffProtocol(fixture('http11-curl-post.bin'), { minecraft: false, limit: 1000 })), 'malformed http');
    assert.equal(summary(sniffProtocol(fixture('http11-curl-post.bin'), { minecraft: false, limit: 4000 })), 'http app.example.test');
  });
});

describe('fuzzing every reader (seeded, reproducible)', () => {
  const fixtures = fixtureNames().map((name) => fixture(name));

  /** Random bytes, some shaped like the start of a known protocol. */
  function randomBuffer(random: () => number): Buffer {
    const long = random() < 0.02;
    const length = Math.floor(random() * (long ? SNIFF_LIMIT + 4000 : 300));
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
    const starts = [hex('160301'), hex('1600'), Buffer.from('GET / HTTP/1.1\r\nHost: '), Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), hex('fe01fa'), hex('fe')];
    const start = starts[Math.floor(random() * starts.length * 2)];
    return start === undefined ? bytes : Buffer.concat([start, bytes]);
  }

  /** A recorded handshake with a few bytes flipped, cut, doubled or inserted. */
  function mutated(random: () => number): Buffer {
    const source = fixtures[Math.floor(random() * fixtures.length)] ?? Buffer.alloc(0);
    let bytes = Buffer.from(source);
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * (bytes.length + 1));
      const pick = random();
      if (pick < 0.4 && bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = Math.floor(random() * 256);
      else if (pick < 0.55) bytes = bytes.subarray(0, at);
      else if (pick < 0.7) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at - Math.floor(random() * 40))]);
      else if (pick < 0.85) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), bytes.subarray(at)]);
      else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([0, 0]), bytes.subarray(at)]);
    }
    return bytes;
  }

  /** Every reader on the bytes: none may throw, and each answers one of its kinds. */
  function readAll(bytes: Buffer, seed: number, i: number): void {
    const where = `seed ${seed}, case ${i}, bytes ${bytes.subarray(0, 64).toString('hex')}`;
    for (const options of [{ minecraft: true }, { minecraft: false }, { minecraft: true, final: true }]) {
      const result = sniffProtocol(bytes, options);
      assert.ok(KINDS.has(result.kind), where);
      if (bytes.length >= SNIFF_LIMIT || options.final === true) assert.notEqual(result.kind, 'need-more', where);
    }
    for (const read of [readClientHello, readHttpRequestHead, readHttp2Request, readMinecraftHandshake, (b: Buffer) => readLegacyPing(b, true)]) {
      assert.ok(typeof read(bytes).kind === 'string', where);
    }
    const offset = bytes.length === 0 ? 0 : Math.floor(bytes.length / 3);
    readStatusPacket(bytes, offset);
    readVarInt(bytes, offset);
    readMcString(bytes, offset, 255);
    try {
      decodeHeaderBlock(bytes.subarray(0, 2000));
    } catch (error) {
      assert.ok(error instanceof ParseError, `${where}: ${String(error)}`);
    }
  }

  it('3000 random buffers', () => {
    const seed = 20_261_127;
    const random = seededRandom(seed);
    for (let i = 0; i < 3000; i++) readAll(randomBuffer(random), seed, i);
  });

  it('3000 mutations of the recorded handshakes', () => {
    const seed = 16;
    const random = seededRandom(seed);
    for (let i = 0; i < 3000; i++) readAll(mutated(random), seed, i);
  });
});
