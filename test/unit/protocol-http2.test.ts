import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { decodeHeaderBlock } from '../../src/core/protocols/hpack-decoder.js';
import { decodeHuffman, huffmanCode } from '../../src/core/protocols/hpack-huffman.js';
import { HTTP2_PREFACE, type Http2RequestResult, readHttp2Request } from '../../src/core/protocols/http2-request.js';
import { misdirectedHttp2Response } from '../../src/core/protocols/http2-responses.js';
import { ParseError } from '../../src/core/protocols/parse-error.js';
import { assertEveryPrefix, fixture } from '../support/handshake-fixtures.js';
import { closeServer, listenLocal } from '../support/net.js';

const NAME = 'app.example.test';
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}
const SETTINGS = frame(4, 0, 0, Buffer.alloc(0));
/** RFC 7541 C.4.1: GET http://www.example.com/, Huffman-coded :authority. */
const BLOCK_C41 = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');

function reason(result: Http2RequestResult): string {
  assert.equal(result.kind, 'malformed', JSON.stringify(result));
  return result.reason;
}

describe('HPACK Huffman code', () => {
  it('the canonical code built from the lengths has the codes RFC 7541 Appendix B lists', () => {
    assert.deepEqual(huffmanCode(48), [0x0, 5]); // '0'
    assert.deepEqual(huffmanCode(97), [0x3, 5]); // 'a'
    assert.deepEqual(huffmanCode(32), [0x14, 6]); // ' '
    assert.deepEqual(huffmanCode(0), [0x1ff8, 13]);
    assert.deepEqual(huffmanCode(10), [0x3ffffffc, 30]);
    assert.deepEqual(huffmanCode(255), [0x3ffffee, 26]);
    assert.deepEqual(huffmanCode(256), [0x3fffffff, 30]); // EOS
  });

  it('decodes the RFC 7541 C.4 and C.6 examples', () => {
    const text = (h: string): string => Buffer.from(decodeHuffman(hex(h))).toString('latin1');
    assert.equal(text('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 'www.example.com');
    assert.equal(text('a8eb 1064 9cbf'), 'no-cache');
    assert.equal(text('6402'), '302');
    assert.equal(text('aec3 771a 4b'), 'private');
    assert.equal(text('d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'), 'Mon, 21 Oct 2013 20:13:21 GMT');
  });

  it('refuses padding longer than 7 bits, padding that is not ones, and EOS', () => {
    assert.throws(() => decodeHuffman(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff')), ParseError);
    assert.throws(() => decodeHuffman(hex('f1e3 c2e5 f23a 6ba0 ab90 f4fe')), ParseError);
    assert.throws(() => decodeHuffman(hex('ffff fffc')), ParseError); // EOS, 30 ones
  });
});

describe('HPACK header block', () => {
  it('decodes RFC 7541 C.3.1 (raw) and C.4.1 (Huffman)', () => {
    const expected = [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ];
    assert.deepEqual(decodeHeaderBlock(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), expected);
    assert.deepEqual(decodeHeaderBlock(BLOCK_C41), expected);
  });

  it('keeps a dynamic table within the block: index 62 is the newest entry', () => {
    const block = Buffer.concat([BLOCK_C41, hex('be')]);
    assert.deepEqual(decodeHeaderBlock(block).at(-1), [':authority', 'www.example.com']);
  });

  it('evicts to a smaller table size given at the start, and refuses what it does not know', () => {
    assert.throws(() => decodeHeaderBlock(Buffer.concat([hex('20'), BLOCK_C41, hex('be')])), /index 62 is not in the table/);
    assert.throws(() => decodeHeaderBlock(hex('3fe2 1f')), /table size of 4097, above the 4096 allowed/); // 31 + 4066
    assert.throws(() => decodeHeaderBlock(Buffer.concat([hex('82'), hex('20')])), /after the first header/);
    assert.throws(() => decodeHeaderBlock(hex('80')), /index 0/);
    assert.throws(() => decodeHeaderBlock(hex('ff ff ff ff ff 0f')), /too large/);
    assert.throws(() => decodeHeaderBlock(hex('41 8c f1e3')), /runs past the end/);
  });
});

describe('HTTP/2 prior-knowledge reader', () => {
  it('routes curl and Node requests by :authority, cut at every byte', () => {
    for (const file of ['http2-curl-prior-knowledge.bin', 'http2-node-prior-knowledge.bin']) {
      assertEveryPrefix(readHttp2Request, fixture(file), { kind: 'request', host: NAME, streamId: 1 });
    }
  });

  it('gathers a header block split over HEADERS and CONTINUATION frames; skips padding and priority', () => {
    const continued = Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 0, 3, BLOCK_C41.subarray(0, 5)), frame(9, 0, 3, BLOCK_C41.subarray(5, 9)), frame(9, 4, 3, BLOCK_C41.subarray(9))]);
    assertEveryPrefix(readHttp2Request, continued, { kind: 'request', host: 'www.example.com', streamId: 3 });
    const padded = Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(8, 0, 0, hex('0000ffff')), frame(1, 0x4 | 0x8 | 0x20, 1, Buffer.concat([hex('03'), hex('0000000010'), BLOCK_C41, hex('000000')]))]);
    assert.deepEqual(readHttp2Request(padded), { kind: 'request', host: 'www.example.com', streamId: 1 });
  });

  it('falls back to a host header, and has no name without either', () => {
    const withHost = Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 1, Buffer.concat([hex('8286 84 66'), Buffer.from([12]), Buffer.from('a.example:81')]))]);
    assert.deepEqual(readHttp2Request(withHost), { kind: 'request', host: 'a.example', streamId: 1 });
    assert.deepEqual(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 1, hex('828684'))])), { kind: 'request', host: null, streamId: 1 });
  });

  it('is not HTTP/2 from the first byte that differs from the preface', () => {
    assert.deepEqual(readHttp2Request(Buffer.from('PRI * HTTP/1.1')), { kind: 'not-http2' });
    assert.deepEqual(readHttp2Request(Buffer.from('GET')), { kind: 'not-http2' });
    assert.deepEqual(readHttp2Request(Buffer.from('PRI * HTTP/2')), { kind: 'need-more' });
  });

  it('names what is wrong in the frames', () => {
    const request = frame(1, 4, 1, BLOCK_C41);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, request]))), /not followed by a SETTINGS frame/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 0, BLOCK_C41)]))), /stream 0/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 2, BLOCK_C41)]))), /stream 2/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(0, 0, 1, hex('00'))]))), /DATA frame before/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(9, 4, 1, BLOCK_C41)]))), /CONTINUATION frame without HEADERS/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 0, 1, BLOCK_C41), SETTINGS]))), /interrupted/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 0x4 | 0x8, 1, Buffer.concat([hex('ff'), BLOCK_C41]))]))), /runs past/);
    assert.match(reason(readHttp2Request(Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 1, hex('41 03 61 20 62'))]))), /"a b" is not valid/);
    const huge = Buffer.concat([HTTP2_PREFACE, SETTINGS, frame(1, 4, 1, Buffer.alloc(0)).subarray(0, 9)]);
    huge.writeUIntBE(16_385, HTTP2_PREFACE.length + SETTINGS.length, 3);
    assert.match(reason(readHttp2Request(huge)), /frame of 16385 bytes/);
  });

  it('a request that cannot fit in the read limit is malformed at once', () => {
    const many = Buffer.concat([HTTP2_PREFACE, SETTINGS, ...Array.from({ length: 2000 }, () => frame(8, 0, 0, hex('00000001')))]);
    assert.match(reason(readHttp2Request(many)), /does not fit in the 16384-byte read limit|no complete request in the first 16384 bytes/);
  });
});

describe('HTTP/2 misdirected answer', () => {
  it('curl --http2-prior-knowledge shows the 421 and its body', async () => {
    const server = createServer((socket: Socket) => {
      let data = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const result = readHttp2Request(data);
        if (result.kind === 'request') socket.end(misdirectedHttp2Response(result.streamId, result.host));
      });
    });
    const port = await listenLocal(server);
    try {
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          'curl',
          ['-sS', '--max-time', '5', '--http2-prior-knowledge', '-w', '\n%{http_code} %{http_version}', '--resolve', `nobody.example:${port}:127.0.0.1`, `http://nobody.example:${port}/`],
          (error, stdout, stderr) => {
            if (error !== null) reject(new Error(`${error.message} ${stderr}`));
            else resolve(stdout);
          },
        );
      });
      assert.equal(output, 'No service here answers to the name nobody.example.\n\n421 2');
    } finally {
      await closeServer(server);
    }
  });
});
