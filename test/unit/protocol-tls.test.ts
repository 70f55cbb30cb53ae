import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { unrecognizedNameAlert } from '../../src/core/protocols/tls-alert.js';
import { type ClientHelloResult, readClientHello } from '../../src/core/protocols/tls-client-hello.js';
import { answeredAfter, assertEveryPrefix, fixture } from '../support/handshake-fixtures.js';
import { closeServer, listenLocal } from '../support/net.js';

const NAME = 'app.example.test';

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function vec8(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([data.length]), data]);
}
function vec16(data: Buffer): Buffer {
  return Buffer.concat([u16(data.length), data]);
}
function ext(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(data)]);
}
function sni(...names: string[]): Buffer {
  return ext(0, vec16(Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0]), vec16(Buffer.from(n, 'latin1'))])))));
}
/** A ClientHello handshake message (type 1, u24 length, body) built field by field. */
function hello(extensions: Buffer[] | null, options: { sessionId?: number; suites?: Buffer; compression?: Buffer } = {}): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    vec8(Buffer.alloc(options.sessionId ?? 32, 1)),
    vec16(options.suites ?? Buffer.from([0x13, 0x01, 0x13, 0x02])),
    vec8(options.compression ?? Buffer.from([0])),
    extensions === null ? Buffer.alloc(0) : vec16(Buffer.concat(extensions)),
  ]);
  const header = Buffer.from([1, 0, 0, 0]);
  header.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([header, body]);
}
/** The message in TLS records of at most `size` bytes each. */
function records(message: Buffer, size = 16_384, type = 22): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < message.length; at += size) {
    const part = message.subarray(at, at + size);
    out.push(Buffer.from([type, 3, 1]), u16(part.length), part);
  }
  return Buffer.concat(out);
}
function found(serverName: string | null, alpn: string[] = []): ClientHelloResult {
  return { kind: 'client-hello', serverName, alpn };
}
function reason(result: ClientHelloResult): string {
  assert.equal(result.kind, 'malformed', JSON.stringify(result));
  return result.reason;
}

describe('TLS ClientHello reader, on recorded handshakes', () => {
  it('reads the SNI and ALPN of curl (TLS 1.3 and 1.2) and openssl, cut at every byte', () => {
    assertEveryPrefix(readClientHello, fixture('tls-curl.bin'), found(NAME, ['h2', 'http/1.1']));
    assertEveryPrefix(readClientHello, fixture('tls-curl-tls12.bin'), found(NAME, ['h2', 'http/1.1']));
    assertEveryPrefix(readClientHello, fixture('tls-openssl.bin'), found(NAME));
  });

  it('no server_name extension is a hello with no name', () => {
    assertEveryPrefix(readClientHello, fixture('tls-openssl-no-sni.bin'), found(null));
  });

  it('reassembles a hello that openssl split over two records, and answers only once both are in', () => {
    const bytes = fixture('tls-openssl-fragmented.bin');
    const firstRecord = 5 + bytes.readUInt16BE(3);
    assert.ok(firstRecord < bytes.length, 'the fixture has a second record');
    const result = readClientHello(bytes);
    assert.equal(result.kind === 'client-hello' && result.serverName, NAME);
    assertEveryPrefix(readClientHello, bytes, result);
    assert.ok(answeredAfter(readClientHello, bytes) > firstRecord + 5);
  });

  it('reassembles a hello split into one-byte records', () => {
    const message = Buffer.from(fixture('tls-openssl.bin').subarray(5));
    assertEveryPrefix(readClientHello, records(message, 1), found(NAME));
    assertEveryPrefix(readClientHello, records(message, 7), found(NAME));
  });

  it('answers as soon as the hello is complete, without waiting for the rest of its record', () => {
    const message = hello([sni(NAME)]);
    // A record that claims more bytes than the hello: the hello is still complete.
    const bytes = Buffer.concat([Buffer.from([22, 3, 1]), u16(message.length + 100), message]);
    assert.deepEqual(readClientHello(bytes), found(NAME));
  });

  it('lower-cases the name and drops a trailing dot', () => {
    assert.deepEqual(readClientHello(records(hello([sni('App.Example.TEST.')]))), found(NAME));
  });

  it('a hello without extensions (TLS 1.0 to 1.2 allow it) has no name', () => {
    assert.deepEqual(readClientHello(records(hello(null))), found(null));
  });
});

describe('TLS ClientHello reader, on what is not TLS or is broken', () => {
  it('anything but 0x16 0x03 0x00-0x04 is not TLS, decided from the first differing byte', () => {
    assert.deepEqual(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not-tls' });
    assert.deepEqual(readClientHello(Buffer.from([0x16, 0x00])), { kind: 'not-tls' }); // a Minecraft handshake of 22 bytes
    assert.deepEqual(readClientHello(Buffer.from([0x16, 0x03, 0x05])), { kind: 'not-tls' });
    assert.deepEqual(readClientHello(Buffer.from([0x80, 0x2e, 0x01])), { kind: 'not-tls' }); // SSLv2-style hello
    assert.deepEqual(readClientHello(Buffer.alloc(0)), { kind: 'need-more' });
    assert.deepEqual(readClientHello(Buffer.from([0x16, 0x03])), { kind: 'need-more' });
  });

  it('names what is wrong in a broken record layer', () => {
    const message = hello([sni(NAME)]);
    assert.match(reason(readClientHello(Buffer.from([22, 3, 1, 0, 0, 1]))), /empty handshake record/);
    assert.match(reason(readClientHello(Buffer.from([22, 3, 1, 0x40, 0x01, 1]))), /longer than TLS allows/);
    assert.match(reason(readClientHello(Buffer.concat([records(message.subarray(0, 10)), records(message.subarray(10), 16_384, 21)]))), /content type 21/);
    // The second record's header is judged as soon as its first bytes arrive.
    assert.match(reason(readClientHello(Buffer.concat([records(message.subarray(0, 10)), Buffer.from([23])]))), /content type 23/);
    assert.match(reason(readClientHello(Buffer.concat([records(message.subarray(0, 10)), Buffer.from([22, 2])]))), /version 2/);
    assert.match(reason(readClientHello(records(Buffer.from([2, 0, 0, 4, 0, 0, 0, 0])))), /type 2, not a ClientHello/);
    // The handshake type is known from the first handshake byte.
    assert.match(reason(readClientHello(Buffer.from([22, 3, 1, 0, 50, 2]))), /not a ClientHello/);
  });

  it('names what is wrong in a broken hello', () => {
    assert.match(reason(readClientHello(records(hello([sni(NAME)], { sessionId: 33 })))), /session id of 33/);
    assert.match(reason(readClientHello(records(hello([sni(NAME)], { suites: Buffer.from([0x13]) })))), /cipher suite list of 1/);
    assert.match(reason(readClientHello(records(hello([sni(NAME)], { compression: Buffer.alloc(0) })))), /no compression methods/);
    assert.match(reason(readClientHello(records(hello([sni(NAME), sni('b.example')])))), /extension 0 appears twice/);
    assert.match(reason(readClientHello(records(hello([sni(NAME, 'b.example')])))), /two host names/);
    assert.match(reason(readClientHello(records(hello([sni('bad name.example')])))), /is not a host name/);
    assert.match(reason(readClientHello(records(hello([sni('')])))), /is not a host name/);
    assert.match(reason(readClientHello(records(hello([ext(0, Buffer.alloc(0))])))), /server_name list length runs past/);
    assert.match(reason(readClientHello(records(hello([ext(16, vec16(Buffer.from([0])))])))), /empty ALPN protocol name/);
    // An extension whose length runs past the extensions block.
    const broken = hello([sni(NAME)]);
    broken.writeUInt16BE(broken.readUInt16BE(broken.length - sni(NAME).length + 2) + 5, broken.length - sni(NAME).length + 2);
    assert.match(reason(readClientHello(records(broken))), /runs past the end/);
    // Bytes after the extensions block.
    const trailing = hello([sni(NAME)]);
    const padded = Buffer.concat([trailing, Buffer.from([0, 0])]);
    padded.writeUIntBE(trailing.length - 4 + 2, 1, 3);
    assert.match(reason(readClientHello(records(padded))), /2 bytes follow the extensions/);
  });

  it('a hello that cannot fit in the read limit is malformed at once, not need-more forever', () => {
    const big = hello([sni(NAME), ext(0xfe0d, Buffer.alloc(20_000 - 200))]);
    assert.match(reason(readClientHello(records(big).subarray(0, 100))), /does not fit in the 16384-byte read limit/);
    assert.match(reason(readClientHello(fixture('tls-curl.bin').subarray(0, 100), 200)), /does not fit in the 200-byte read limit/);
    // Many tiny records: the hello would fit, but its records do not.
    const tiny = records(hello([sni(NAME)]), 1);
    assert.match(reason(readClientHello(tiny, 300)), /no complete ClientHello in the first 300 bytes/);
  });
});

describe('TLS unrecognized_name alert', () => {
  /** A TLS port that sniffs the hello and turns every name away with the alert, as the listener will. */
  async function rejectingServer(): Promise<{ port: number; close: () => Promise<void>; seen: (string | null)[] }> {
    const seen: (string | null)[] = [];
    const server = createServer((socket: Socket) => {
      let data = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const result = readClientHello(data);
        if (result.kind === 'need-more') return;
        seen.push(result.kind === 'client-hello' ? result.serverName : result.kind);
        socket.end(unrecognizedNameAlert());
      });
    });
    const port = await listenLocal(server);
    return { port, seen, close: () => closeServer(server) };
  }

  function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, output: stdout + stderr });
      });
      child.stdin?.end();
    });
  }

  it('curl and openssl report "unrecognized name"', async () => {
    const server = await rejectingServer();
    try {
      const curl = await run('curl', ['-sS', '--max-time', '5', '--resolve', `${NAME}:${server.port}:127.0.0.1`, `https://${NAME}:${server.port}/`]);
      assert.equal(curl.code, 35, curl.output);
      assert.match(curl.output, /unrecognized name/);
      const openssl = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'other.example.test']);
      assert.match(openssl.output, /unrecognized name.*SSL alert number 112/, openssl.output);
      assert.deepEqual(server.seen, [NAME, 'other.example.test']);
    } finally {
      await server.close();
    }
  });
});
