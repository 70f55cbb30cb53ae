import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePluginArgv } from '../../src/cli/docker-global-flags.js';

describe("parsing the docker CLI's global flags before the plugin name", () => {
  it('passes the plugin its own arguments untouched', () => {
    assert.deepEqual(parsePluginArgv(['proxytainer', 'run', '--host', 'localhost:5000', '-p', '1'], 'proxytainer'), {
      kind: 'run',
      flags: {},
      args: ['run', '--host', 'localhost:5000', '-p', '1'],
    });
  });

  it('reads -H x, --host=x, --host x, and -Hx', () => {
    for (const argv of [
      ['-H', 'tcp://h:1'],
      ['--host=tcp://h:1'],
      ['--host', 'tcp://h:1'],
      ['-Htcp://h:1'],
    ]) {
      const parsed = parsePluginArgv([...argv, 'proxytainer', 'status'], 'proxytainer');
      assert.equal(parsed.flags.host, 'tcp://h:1', argv.join(' '));
      assert.deepEqual(parsed.args, ['status']);
    }
  });

  it('reads -cname, --context name, --context=name', () => {
    for (const argv of [['-cprod'], ['-c', 'prod'], ['--context', 'prod'], ['--context=prod']]) {
      assert.equal(parsePluginArgv([...argv, 'proxytainer'], 'proxytainer').flags.context, 'prod', argv.join(' '));
    }
  });

  it('reads clustered booleans with a value flag last: -Dl debug', () => {
    const parsed = parsePluginArgv(['--context=default', '-Dl', 'debug', 'proxytainer', 'a'], 'proxytainer');
    assert.deepEqual(parsed.flags, { context: 'default', debug: true, logLevel: 'debug' });
    assert.deepEqual(parsed.args, ['a']);
  });

  it('reads --config, --tls, --tlsverify and the certificate flags', () => {
    const parsed = parsePluginArgv(
      ['--config', '/cfg', '--tlsverify', '--tlscacert', 'ca.pem', '--tlscert=cert.pem', '--tlskey', 'key.pem', '--tls', 'proxytainer'],
      'proxytainer',
    );
    assert.deepEqual(parsed.flags, { config: '/cfg', tlsverify: true, tls: true, tlscacert: 'ca.pem', tlscert: 'cert.pem', tlskey: 'key.pem' });
  });

  it('recognises docker help proxytainer and cobra completion', () => {
    assert.deepEqual(parsePluginArgv(['help', 'proxytainer', 'run'], 'proxytainer'), { kind: 'help', flags: {}, args: ['run'] });
    assert.deepEqual(parsePluginArgv(['__complete', 'proxytainer', ''], 'proxytainer'), { kind: 'complete', flags: {}, args: [''] });
  });

  it('rejects two -H, an unknown flag and a missing value, naming them', () => {
    assert.throws(() => parsePluginArgv(['-H', 'a', '-H', 'b', 'proxytainer'], 'proxytainer'), /specify only one -H/);
    assert.throws(() => parsePluginArgv(['--bogus', 'proxytainer'], 'proxytainer'), /unknown docker flag --bogus/);
    assert.throws(() => parsePluginArgv(['-H'], 'proxytainer'), /docker flag -H needs a value/);
  });
});
