import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHostPort, parseBindAddress, parseHostPort, parsePort, parsePortSpec, reachesListener } from '../../src/core/address.js';
import { parseBytes } from '../../src/core/bytes.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it('reads plain numbers as seconds, as the original --idle did', () => {
    assert.equal(parseDuration('300'), 300_000);
    assert.equal(parseDuration('1.5'), 1_500);
  });
  it('reads unit suffixes and combinations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
  });
  it('rejects anything else with a message that shows valid forms', () => {
    for (const bad of ['', 'abc', '5x', '-1', '10 s', 's', '1m-']) {
      assert.throws(() => parseDuration(bad), /500ms, 30s, 5m, 1h/, bad);
    }
  });
  it('formats durations the way they are written', () => {
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(1_500), '1.5s');
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(5_400_000), '1h30m');
  });
});

describe('parsePort', () => {
  it('accepts 1-65535', () => {
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65535);
  });
  it('rejects out-of-range and non-numeric ports, naming the range', () => {
    for (const bad of ['0', '65536', '70000', '-1', 'http', '80a', '']) {
      assert.throws(() => parsePort(bad), /1 to 65535/, bad);
    }
  });
});

describe('parsePortSpec', () => {
  it("reads docker's convention: no suffix is TCP, /tcp and /udp in any case", () => {
    assert.deepEqual(parsePortSpec('8080'), { port: 8080, protocol: 'tcp' });
    assert.deepEqual(parsePortSpec('8080/tcp'), { port: 8080, protocol: 'tcp' });
    assert.deepEqual(parsePortSpec('27015/udp'), { port: 27015, protocol: 'udp' });
    assert.deepEqual(parsePortSpec('53/UDP'), { port: 53, protocol: 'udp' });
  });
  it('names SCTP as unsupported, and any other suffix as not a protocol, with the fix', () => {
    assert.throws(() => parsePortSpec('9/sctp'), /proxies TCP and UDP, not SCTP; write 9\/tcp or 9\/udp/);
    assert.throws(() => parsePortSpec('27015/UDP2'), /"UDP2" is not a protocol; write 27015\/udp, or 27015 \(or 27015\/tcp\) for TCP/);
    assert.throws(() => parsePortSpec('27015/'), /no protocol after the slash/);
    assert.throws(() => parsePortSpec('27015/udp/tcp'), /"udp\/tcp" is not a protocol/);
    assert.throws(() => parsePortSpec('70000/udp'), /out of range/);
    assert.throws(() => parsePortSpec('/udp'), /is not a port/);
  });
});

describe('parseBytes', () => {
  it('reads bytes, decimal and binary units in any case', () => {
    assert.equal(parseBytes('1048576'), 1_048_576);
    assert.equal(parseBytes('512k'), 512_000);
    assert.equal(parseBytes('64KiB'), 65_536);
    assert.equal(parseBytes('1MiB'), 1_048_576);
    assert.equal(parseBytes('1mb'), 1_000_000);
    assert.equal(parseBytes('1.5 GiB'), 1_610_612_736);
  });
  it('rejects anything else, showing valid forms', () => {
    for (const bad of ['', 'abc', '-1', '1 MiBs', '1e6', '1XB']) assert.throws(() => parseBytes(bad), /512k, 1kB, 1MiB/, bad);
  });
});

describe('parseHostPort', () => {
  it('reads names, IPv4 and bracketed IPv6', () => {
    assert.deepEqual(parseHostPort('localhost:5000'), { host: 'localhost', port: 5000 });
    assert.deepEqual(parseHostPort('10.0.0.2:80'), { host: '10.0.0.2', port: 80 });
    assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseHostPort('my-db_1.internal:5432'), { host: 'my-db_1.internal', port: 5432 });
  });
  it('rejects a missing port, a bad port and bare IPv6, saying how to write it', () => {
    assert.throws(() => parseHostPort('localhost'), /host:port/);
    assert.throws(() => parseHostPort(':80'), /host:port/);
    assert.throws(() => parseHostPort('localhost:99999'), /out of range/);
    assert.throws(() => parseHostPort('::1:80'), /brackets: \[::1\]:80/);
    assert.throws(() => parseHostPort('[nothost]:80'), /not an IPv6 address/);
    assert.throws(() => parseHostPort('bad host:80'), /not a host name/);
  });
  it('gives hints that are right: brackets only for real IPv6, a port for a bracketed address without one', () => {
    assert.throws(() => parseHostPort('[::1]'), /^Error: "\[::1\]" has no port; write it like \[::1\]:80$/);
    assert.throws(() => parseHostPort('::1'), /^Error: "::1" is an IPv6 address without a port; write it like \[::1\]:80$/);
    assert.throws(() => parseHostPort('127.0.0.1:1:1'), /^Error: "127\.0\.0\.1:1:1" is not host:port; write it like localhost:5000/);
    assert.throws(() => parseHostPort('fe80::1:443'), /put the address in brackets: \[fe80::1\]:443/);
  });
  it('takes a port as digits only: no spaces, signs or units', () => {
    for (const bad of [' 19050', '19050 ', '+80', '80.0', '0x50']) assert.throws(() => parsePort(bad), /is not a port/, JSON.stringify(bad));
  });
  it('formats IPv6 with brackets', () => {
    assert.equal(formatHostPort({ host: '::1', port: 80 }), '[::1]:80');
    assert.equal(formatHostPort({ host: 'db', port: 5432 }), 'db:5432');
  });
});

describe('parseBindAddress', () => {
  it('takes IP literals, and refuses what is not one before anything else happens', () => {
    for (const good of ['127.0.0.1', '0.0.0.0', '::', '::1']) assert.equal(parseBindAddress(good), good);
    for (const bad of ['999.1.1.1', 'localhost', '', '1.2.3']) assert.throws(() => parseBindAddress(bad), /is not an IP address of this machine; write it like 127\.0\.0\.1/);
  });
});

describe('reachesListener', () => {
  it('is true for loopback on the same port when the listener takes every interface, and for its own address when bound', () => {
    assert.equal(reachesListener({ host: '127.0.0.1', port: 80 }, { port: 80, bind: undefined }), true);
    assert.equal(reachesListener({ host: 'localhost', port: 80 }, { port: 80, bind: '::' }), true);
    assert.equal(reachesListener({ host: '127.0.0.1', port: 81 }, { port: 80, bind: undefined }), false);
    assert.equal(reachesListener({ host: '127.0.0.1', port: 80 }, { port: 80, bind: '10.0.0.5' }), false);
    assert.equal(reachesListener({ host: '10.0.0.5', port: 80 }, { port: 80, bind: '10.0.0.5' }), true);
    assert.equal(reachesListener({ host: 'db', port: 80 }, { port: 80, bind: undefined }), false);
  });
});
