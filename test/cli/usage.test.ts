import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageInfo } from '../../src/cli/package-info.js';
import { runCli } from '../support/proxy-process.js';

/** An engine that cannot exist, so these tests never reach a real one. */
const NO_ENGINE = { DOCKER_HOST: 'unix:///nope.sock' };

describe('command line', () => {
  const usageErrors: [string[], RegExp][] = [
    [['--port', '70000', '--host', 'localhost:5000', '--group', 'g'], /option '-p, --port <port>' argument '70000' is invalid\. port 70000 is out of range/],
    [['--port', 'http', '--host', 'localhost:5000', '--group', 'g'], /'-p, --port <port>' argument 'http' is invalid/],
    [['--port', '5001', '--group', 'g'], /--port needs --host/],
    [['--host', 'localhost:5000', '--group', 'g'], /--host needs --port/],
    [['--port', '5001', '--host', 'localhost', '--group', 'g'], /'--host <host:port>' argument 'localhost' is invalid\. "localhost" is not host:port/],
    [['--port', '5001', '--host', '::1:80', '--group', 'g'], /in brackets: \[::1\]:80/],
    [['--port', '5001', '--host', '[::1]', '--group', 'g'], /"\[::1\]" has no port; write it like \[::1\]:80/],
    [['--port', '5001', '--host', '127.0.0.1:1:1', '--group', 'g'], /"127\.0\.0\.1:1:1" is not host:port; write it like localhost:5000/],
    [['--port', ' 19050', '--host', 'localhost:5000', '--group', 'g'], /" 19050" is not a port/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--bind', '999.1.1.1'], /'--bind <address>' argument '999\.1\.1\.1' is invalid\. "999\.1\.1\.1" is not an IP address/],
    [['--port', '5001', '--host', '127.0.0.1:5001', '--group', 'g'], /--host 127\.0\.0\.1:5001 is this proxy's own --port 5001: connections would loop back into it/],
    [['--port', '27015/sctp', '--host', 'localhost:27016', '--group', 'g'], /'-p, --port <port>' argument '27015\/sctp' is invalid\. "27015\/sctp": proxytainer proxies TCP and UDP, not SCTP; write 27015\/tcp or 27015\/udp/],
    [['--port', '27015/UDP2', '--host', 'localhost:27016', '--group', 'g'], /'-p, --port <port>' argument '27015\/UDP2' is invalid\. "27015\/UDP2": "UDP2" is not a protocol; write 27015\/udp/],
    [['--port', '5001/udp', '--host', '127.0.0.1:5001', '--group', 'g'], /--host 127\.0\.0\.1:5001 is this proxy's own --port 5001\/udp: datagrams would loop back into it/],
    [['--port', '27015/udp', '--host', 'localhost:27016', '--group', 'g', '--max-held-bytes', '1XB'], /'--max-held-bytes <size>' argument '1XB' is invalid\. "1XB" is not an amount of bytes/],
    [['--port', '27015/udp', '--host', 'localhost:27016', '--group', 'g', '--max-flows', '0'], /'--max-flows <count>' argument '0' is invalid/],
    [['--port', '27015/udp', '--host', 'localhost:27016', '--group', 'g', '--udp-timeout', '0'], /'--udp-timeout <duration>' argument '0' is invalid\. "0" must be longer than zero/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--wake-on', 'sometimes'], /'--wake-on <when>' argument 'sometimes' is invalid\. "sometimes" is not connect or data/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--wake-min-bytes', '0'], /'--wake-min-bytes <count>' argument '0' is invalid/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--wake-from', '10.0.0.0/33'], /'--wake-from <cidrs>' argument '10\.0\.0\.0\/33' is invalid\. "10\.0\.0\.0\/33": the prefix length must be a whole number from 0 to 32/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--allow-from', 'lan'], /'--allow-from <cidrs>' argument 'lan' is invalid\. "lan" is not an address or a network in CIDR form/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--idle-threshold', '-1'], /'--idle-threshold <bytes>' argument '-1' is invalid/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--hostname', 'https://app.test/'], /'--hostname <names>' argument 'https:\/\/app\.test\/' is invalid\. "https:\/\/app\.test\/" is not a host name: give the name alone, without a scheme or path/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--protocol', 'bedrock'], /'--protocol <protocol>' argument 'bedrock' is invalid\. "bedrock" is not a protocol proxytainer reads; the one it knows is minecraft/],
    [['--port', '27015/udp', '--host', 'localhost:27016', '--group', 'g', '--hostname', 'a.test'], /--hostname reads the first bytes of TCP connections; a UDP port \(--port 27015\/udp\) cannot use it/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--motd', 'hi'], /--motd needs --protocol minecraft/],
    [['run', '--hostname', 'a.test'], /--hostname is for static mode \(--port\/--host\); in discovery mode label the members \(proxytainer\.hostname/],
    [['wake', ''], /a group name cannot be empty/],
    [['sleep', ' '], /a group name cannot be empty/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--idle', '5x'], /'--idle <duration>' argument '5x' is invalid/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--idle', '0'], /'--idle <duration>' argument '0' is invalid\. "0" must be longer than zero/],
    [['--port', '5001', '--host', 'localhost:5000'], /--group is required with --port and --host/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--bogus'], /unknown option '--bogus'/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--webhook', 'ftp://x/'], /'--webhook <url>' argument 'ftp:\/\/x\/' is invalid\. "ftp:\/\/x\/" is not an http or https URL/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--webhook', 'https://ok/', '--webhook', 'hooks'], /'--webhook <url>' argument 'hooks' is invalid\. "hooks" is not a URL/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--metrics', '9464'], /'--metrics <address>' argument '9464' is invalid\. "9464" has no address; write 127\.0\.0\.1:9464 \(this machine only\) or :9464/],
    [['--port', '5001', '--host', 'localhost:5000', '--group', 'g', '--metrics', ':99999'], /'--metrics <address>' argument ':99999' is invalid\. port 99999 is out of range/],
  ];
  for (const [args, message] of usageErrors) {
    it(`usage error, exit 2: ${args.join(' ')}`, async () => {
      const { code, stderr } = await runCli(args, NO_ENGINE);
      assert.equal(code, 2);
      assert.match(stderr, message);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 2, `one line naming the problem, one pointing to --help:\n${stderr}`);
      assert.match(lines[1] ?? '', /^Run 'proxytainer( run| wake| sleep)? --help' for usage\.$/);
    });
  }

  it('an unknown PROXYTAINER_LOG level is a usage error', async () => {
    const { code, stderr } = await runCli(['--port', '5001', '--host', 'localhost:5000', '--group', 'g'], { ...NO_ENGINE, PROXYTAINER_LOG: 'verbose' });
    assert.equal(code, 2);
    assert.match(stderr, /PROXYTAINER_LOG=verbose is not a log level; use one of error, warn, info, debug, trace/);
  });

  it('an unreachable Docker endpoint is a runtime error, exit 1, that names it', async () => {
    const { code, stderr } = await runCli(['--port', '5001', '--host', '[::1]:5000', '--group', 'g'], NO_ENGINE);
    assert.equal(code, 1);
    assert.match(stderr, /error: cannot reach Docker at unix:\/\/\/nope\.sock: the socket does not exist/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });

  it('-h prints usage and -V the version, both exit 0', async () => {
    const help = await runCli(['-h']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: {2}proxytainer \[OPTIONS\] COMMAND\n/);
    const runHelp = await runCli(['run', '--help']);
    assert.match(runHelp.stdout, /-p, --port <port>[\s\S]*--host <host:port>[\s\S]*-g, --group <name>[\s\S]*--idle <duration>[\s\S]*--no-health/);
    const version = await runCli(['-V']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), packageInfo.version);
  });
});
