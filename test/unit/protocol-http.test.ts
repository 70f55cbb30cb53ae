import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { readHostHeader } from '../../src/core/protocols/host-header.js';
import { type HttpHeadResult, readHttpRequestHead } from '../../src/core/protocols/http-request-head.js';
import { badRequestResponse, misdirectedResponse } from '../../src/core/protocols/http-responses.js';
import { assertEveryPrefix, fixture } from '../support/handshake-fixtures.js';
import { closeServer, listenLocal } from '../support/net.js';

const NAME = 'app.example.test';

function head(text: string): HttpHeadResult {
  return readHttpRequestHead(Buffer.from(text, 'latin1'));
}
function hostOf(text: string): string | null | undefined {
  const result = head(text);
  return result.kind === 'request' ? result.host : undefined;
}
function reason(result: HttpHeadResult): string {
  assert.equal(result.kind, 'malformed', JSON.stringify(result));
  return result.reason;
}

describe('HTTP/1.x request head reader, on curl requests', () => {
  const request = (file: string, host: string | null, more: Partial<HttpHeadResult> = {}): void => {
    const bytes = fixture(file);
    const result = readHttpRequestHead(bytes);
    assert.equal(result.kind, 'request');
    assert.equal(result.host, host);
    for (const [key, value] of Object.entries(more)) assert.equal((result as Record<string, unknown>)[key], value, key);
    assertEveryPrefix(readHttpRequestHead, bytes, result);
  };

  it('routes by Host with the port removed, cut at every byte', () => {
    request('http11-curl.bin', NAME, { method: 'GET', target: '/path?q=1', version: '1.1' });
  });
  it('reads HTTP/1.0', () => {
    request('http10-curl.bin', NAME, { version: '1.0' });
  });
  it('a request without Host (curl -H "Host:") has no name', () => {
    request('http11-curl-no-host.bin', null);
  });
  it('keeps an IPv6 literal in brackets, without its port', () => {
    request('http11-curl-ipv6-host.bin', '[::1]');
  });
  it('reads a 3 KiB head and stops at the blank line, before the body', () => {
    const bytes = fixture('http11-curl-post.bin');
    const result = readHttpRequestHead(bytes);
    assert.equal(result.kind === 'request' && bytes.subarray(result.headLength).toString(), 'a=1&b=2');
    request('http11-curl-post.bin', NAME, { method: 'POST' });
  });
  it('routes a proxy request by its absolute-form target', () => {
    request('http11-curl-absolute-form.bin', NAME, { target: `http://${NAME}/x` });
  });
});

describe('HTTP/1.x request head reader, on hand-made requests', () => {
  it('the absolute-form target wins over Host (RFC 9112 3.2.2), user info and port dropped', () => {
    assert.equal(hostOf('GET http://user:pw@Target.Example:8080/p HTTP/1.1\r\nHost: other.example\r\n\r\n'), 'target.example');
    assert.equal(hostOf('CONNECT app.example.test:443 HTTP/1.1\r\nHost: x.example\r\n\r\n'), NAME);
  });

  it('normalises Host: case, trailing dot, spaces, port; accepts bare LF line ends', () => {
    assert.equal(hostOf('GET / HTTP/1.1\r\nhOsT:   App.Example.TEST.:8080  \r\n\r\n'), NAME);
    assert.equal(hostOf('GET / HTTP/1.1\nHost: app.example.test\n\n'), NAME);
    assert.equal(hostOf('GET / HTTP/1.1\r\nHost:\r\n\r\n'), null);
    assert.equal(hostOf('GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n'), '[::1]');
  });

  it('turns away what cannot start a request line, at the first wrong byte', () => {
    for (const text of ['\x16\x03\x01', '\x10\x00', 'SSH-2.0-OpenSSH_9.2', 'get / HTTP/1.1\r\n', 'PING\r\n', ' GET /', 'GET  /', 'GET / FTP/1.0\r\n']) {
      assert.deepEqual(head(text), { kind: 'not-http' }, JSON.stringify(text));
    }
    assert.deepEqual(head('A'.repeat(33)), { kind: 'not-http' });
    for (const text of ['', 'G', 'GET', 'GET ', 'GET /', 'GET / HT', 'GET / HTTP/1', 'GET / HTTP/1.1', 'GET / HTTP/1.1\r', 'GET / HTTP/1.1\r\nHost: a\r\n']) {
      assert.deepEqual(head(text), { kind: 'need-more' }, JSON.stringify(text));
    }
  });

  it('names what is wrong once the client clearly speaks HTTP', () => {
    assert.match(reason(head('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), /HTTP\/2.0 is not HTTP\/1.x/);
    assert.match(reason(head('GET / HTTP/1.1x\r\n\r\n')), /not HTTP\/1.0 or HTTP\/1.1/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n')), /two Host headers/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: a.example\r\n folded\r\n\r\n')), /folded header line/);
    assert.match(reason(head('GET / HTTP/1.1\r\nNo colon here\r\n\r\n')), /has no valid name/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost : a.example\r\n\r\n')), /has no valid name/);
    assert.match(reason(head('GET / HTTP/1.1\r\nX-A: b\x01c\r\n\r\n')), /control character/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: bad host\r\n\r\n')), /"bad host" is not valid/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: [::1\r\n\r\n')), /closing "\]"/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: ::1\r\n\r\n')), /more than one ":"/);
    assert.match(reason(head('GET / HTTP/1.1\r\nHost: a.example:http\r\n\r\n')), /port "http" is not a number/);
  });

  it('a head that does not end within the read limit is malformed, not need-more forever', () => {
    const long = `GET / HTTP/1.1\r\nHost: a.example\r\nX-Big: ${'x'.repeat(20_000)}`;
    assert.match(reason(head(long)), /longer than the 16384-byte read limit/);
    assert.match(reason(readHttpRequestHead(Buffer.from('GET /aaaaaaaaaaaaa'), 10)), /longer than the 10-byte read limit/);
    // Complete only past the limit: the bytes after it are never read.
    const justPast = Buffer.from(`GET / HTTP/1.1\r\nX: ${'x'.repeat(16_384 - 30)}\r\nHost: a.example\r\n\r\n`);
    assert.match(reason(readHttpRequestHead(justPast)), /longer than the 16384-byte read limit/);
  });
});

describe('reading a Host value', () => {
  it('takes host[:port], IPv4 and bracketed IPv6, and refuses the rest', () => {
    assert.deepEqual(readHostHeader('Example.COM:80'), { ok: true, host: 'example.com' });
    assert.deepEqual(readHostHeader('10.0.0.1:8080'), { ok: true, host: '10.0.0.1' });
    assert.deepEqual(readHostHeader('[2001:DB8::1]:443'), { ok: true, host: '[2001:db8::1]' });
    assert.deepEqual(readHostHeader(''), { ok: true, host: null });
    assert.equal(readHostHeader('[::1]x').ok, false);
    assert.equal(readHostHeader('[fe80::1%eth0]').ok, false);
    assert.equal(readHostHeader('a.example:123456').ok, false);
    assert.equal(readHostHeader('a_b.example').ok, true);
  });
});

describe('HTTP answers', () => {
  it('421 and 400 are complete responses with a one-line body and Connection: close', () => {
    for (const response of [misdirectedResponse('app.example.test'), misdirectedResponse(null), badRequestResponse('two Host headers')]) {
      const text = response.toString();
      const [headText = '', body = ''] = text.split('\r\n\r\n');
      assert.match(headText, /^HTTP\/1\.1 (421 Misdirected Request|400 Bad Request)\r\n/);
      assert.match(headText, /\r\nConnection: close(\r\n|$)/);
      assert.match(headText, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(body)}(\\r\\n|$)`));
      assert.match(body, /^[^\n]+\n$/);
    }
    assert.match(misdirectedResponse('app.example.test').toString(), /answers to the name app\.example\.test\.\n$/);
  });

  it('curl shows the 421 and its body', async () => {
    const server = createServer((socket: Socket) => {
      let data = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const result = readHttpRequestHead(data);
        if (result.kind === 'request') socket.end(misdirectedResponse(result.host));
      });
    });
    const port = await listenLocal(server);
    try {
      const output = await new Promise<string>((resolve, reject) => {
        execFile('curl', ['-sS', '--max-time', '5', '-w', '\n%{http_code}', `http://127.0.0.1:${port}/`, '-H', 'Host: nobody.example'], (error, stdout) => {
          if (error === null) resolve(stdout);
          else reject(new Error(error.message));
        });
      });
      assert.equal(output, 'No service here answers to the name nobody.example.\n\n421');
    } finally {
      await closeServer(server);
    }
  });
});
