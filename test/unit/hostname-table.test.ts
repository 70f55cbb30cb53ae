import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeHostName } from '../../src/core/protocols/host-name.js';
import { formatHostnamePattern, parseHostnamePattern } from '../../src/core/protocols/hostname-pattern.js';
import { HostnameTable } from '../../src/core/protocols/hostname-table.js';

function table(claims: [string, string][]): HostnameTable<string> {
  const t = new HostnameTable<string>();
  for (const [pattern, route] of claims) assert.equal(t.add(parseHostnamePattern(pattern), route), null);
  return t;
}

describe('host name patterns', () => {
  it('reads exact names and wildcards, ignoring case, spaces and a trailing dot', () => {
    assert.deepEqual(parseHostnamePattern(' App.Example.COM. '), { kind: 'exact', name: 'app.example.com' });
    assert.deepEqual(parseHostnamePattern('*.Example.com'), { kind: 'wildcard', suffix: 'example.com' });
    assert.deepEqual(parseHostnamePattern('my_app'), { kind: 'exact', name: 'my_app' });
    assert.deepEqual(parseHostnamePattern('10.0.0.1'), { kind: 'exact', name: '10.0.0.1' });
    assert.equal(formatHostnamePattern(parseHostnamePattern('*.EXAMPLE.com')), '*.example.com');
  });

  it('stores Unicode names in their xn-- form, as clients send them', () => {
    assert.deepEqual(parseHostnamePattern('Bücher.example'), { kind: 'exact', name: 'xn--bcher-kva.example' });
    assert.deepEqual(parseHostnamePattern('*.bücher.example'), { kind: 'wildcard', suffix: 'xn--bcher-kva.example' });
  });

  it('says what is wrong and what a valid name looks like', () => {
    const cases: [string, RegExp][] = [
      ['', /"" is not a host name: it is empty; use a name like app\.example\.com, or \*\.example\.com/],
      ['https://app.example.com', /without a scheme or path/],
      ['app.example.com/x', /without a scheme or path/],
      ['app.example.com:8080', /without a port \(the port comes from proxytainer\.port\)/],
      ['*', /"\*" alone would match every name/],
      ['a*.example.com', /a wildcard must be the whole first label/],
      ['*.*.example.com', /a wildcard must be the whole first label/],
      ['app.*.com', /a wildcard must be the whole first label/],
      ['a..example.com', /an empty label/],
      ['.example.com', /an empty label/],
      ['ex ample.com', /" " is not allowed in a host name/],
      ['-app.example.com', /starts or ends with "-"/],
      [`${'a'.repeat(64)}.example.com`, /is 64 characters long, and a label has at most 63/],
      [`${'a.'.repeat(127)}com`, /257 characters long, and a host name has at most 253/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseHostnamePattern(text), message, JSON.stringify(text));
  });

  it('wire names: compared form, or null when no name', () => {
    assert.equal(normalizeHostName('App.Example.COM.'), 'app.example.com');
    assert.equal(normalizeHostName(''), null);
    assert.equal(normalizeHostName('a b'), null);
    assert.equal(normalizeHostName('bücher.example'), null); // the wire carries xn--, never Unicode
  });
});

describe('host name table', () => {
  const routes = table([
    ['app.example.com', 'app'],
    ['*.example.com', 'any'],
    ['*.eu.example.com', 'eu'],
    ['eu.example.com', 'eu-root'],
  ]);

  it('an exact name beats every wildcard', () => {
    assert.equal(routes.lookup('app.example.com'), 'app');
    assert.equal(routes.lookup('eu.example.com'), 'eu-root');
  });

  it('the wildcard with the longest suffix wins, at any depth below it', () => {
    assert.equal(routes.lookup('shop.eu.example.com'), 'eu');
    assert.equal(routes.lookup('a.b.eu.example.com'), 'eu');
    assert.equal(routes.lookup('www.example.com'), 'any');
    assert.equal(routes.lookup('a.b.example.com'), 'any');
  });

  it('*.example.com does not match example.com; unknown and missing names route nowhere', () => {
    assert.equal(routes.lookup('example.com'), undefined);
    assert.equal(routes.lookup('example.org'), undefined);
    assert.equal(routes.lookup('notexample.com'), undefined);
    assert.equal(routes.lookup(null), undefined);
    assert.equal(routes.lookup('bad name'), undefined);
  });

  it('looks names up in any case, with or without the trailing dot', () => {
    assert.equal(routes.lookup('APP.Example.com.'), 'app');
    assert.equal(routes.lookup('Shop.EU.example.com'), 'eu');
  });

  it('two routes claiming one pattern: the first keeps it and the conflict is returned', () => {
    const t = new HostnameTable<string>();
    assert.equal(t.add(parseHostnamePattern('app.example.com'), 'old'), null);
    assert.equal(t.add(parseHostnamePattern('App.Example.com.'), 'old'), null); // the same group again is fine
    assert.deepEqual(t.add(parseHostnamePattern('APP.example.com'), 'new'), { pattern: 'app.example.com', kept: 'old', refused: 'new' });
    assert.deepEqual(t.add(parseHostnamePattern('*.example.com'), 'new'), null);
    assert.deepEqual(t.add(parseHostnamePattern('*.EXAMPLE.com'), 'old'), { pattern: '*.example.com', kept: 'new', refused: 'old' });
    assert.equal(t.lookup('app.example.com'), 'old');
    assert.deepEqual(t.entries(), [
      ['app.example.com', 'old'],
      ['*.example.com', 'new'],
    ]);
  });
});
