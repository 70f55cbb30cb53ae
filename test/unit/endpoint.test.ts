import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dockerOptionsFor, resolveEndpoint } from '../../src/docker/endpoint.js';

/** A docker config dir with contexts, laid out as `docker context create` does. */
function configWith(contexts: Record<string, { host: string; skipTls?: boolean; tls?: boolean }>, current?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxytainer-endpoint-'));
  for (const [name, { host, skipTls, tls }] of Object.entries(contexts)) {
    const digest = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', digest), { recursive: true });
    writeFileSync(join(dir, 'contexts', 'meta', digest, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: skipTls ?? false } } }));
    if (tls === true) {
      mkdirSync(join(dir, 'contexts', 'tls', digest, 'docker'), { recursive: true });
      for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, 'contexts', 'tls', digest, 'docker', file), `${file} of ${name}`);
    }
  }
  if (current !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: current }));
  return dir;
}

describe('choosing the Docker endpoint as the docker CLI does', () => {
  const config = configWith({ flagged: { host: 'unix:///flagged.sock' }, envctx: { host: 'tcp://10.0.0.1:2375' }, current: { host: 'unix:///current.sock' } }, 'current');

  it('--context beats everything', () => {
    const endpoint = resolveEndpoint({ context: 'flagged', config }, { DOCKER_HOST: 'unix:///env.sock', DOCKER_CONTEXT: 'envctx' });
    assert.equal(endpoint.url, 'unix:///flagged.sock');
    assert.equal(endpoint.source, '--context flagged');
  });
  it('-H beats DOCKER_HOST; DOCKER_HOST beats DOCKER_CONTEXT; DOCKER_CONTEXT beats currentContext', () => {
    assert.equal(resolveEndpoint({ host: 'unix:///h.sock', config }, { DOCKER_HOST: 'unix:///env.sock' }).url, 'unix:///h.sock');
    assert.equal(resolveEndpoint({ config }, { DOCKER_HOST: 'unix:///env.sock', DOCKER_CONTEXT: 'envctx' }).url, 'unix:///env.sock');
    assert.equal(resolveEndpoint({ config }, { DOCKER_CONTEXT: 'envctx' }).url, 'tcp://10.0.0.1:2375');
    assert.equal(resolveEndpoint({ config }, {}).url, 'unix:///current.sock');
  });
  it('falls back to the default socket; the default context is DOCKER_HOST or the socket', () => {
    const empty = configWith({});
    assert.deepEqual(resolveEndpoint({ config: empty }, {}).options.socketPath, '/var/run/docker.sock');
    assert.equal(resolveEndpoint({ context: 'default', config: empty }, { DOCKER_HOST: 'tcp://h:1' }).url, 'tcp://h:1');
  });
  it('finds the config dir from DOCKER_CONFIG', () => {
    assert.equal(resolveEndpoint({}, { DOCKER_CONFIG: config }).url, 'unix:///current.sock');
  });
  it('names a missing context and how to list them', () => {
    assert.throws(() => resolveEndpoint({ context: 'nope', config }, {}), /Docker context "nope" \(from --context nope\) does not exist in .*; list contexts with 'docker context ls'/);
  });
  it('rejects -H together with --context, as docker does', () => {
    assert.throws(() => resolveEndpoint({ host: 'unix:///a', context: 'flagged', config }, {}), /conflicting options: cannot specify both --host and --context/);
  });
  it("uses a context's TLS files and SkipTLSVerify", () => {
    const tls = configWith({ secure: { host: 'tcp://h', tls: true }, lax: { host: 'tcp://h:2376', skipTls: true } });
    const secure = resolveEndpoint({ context: 'secure', config: tls }, {}).options;
    assert.equal(secure.protocol, 'https');
    assert.equal(secure.port, 2376);
    assert.equal(String(secure.ca), 'ca.pem of secure');
    assert.ok((resolveEndpoint({ context: 'lax', config: tls }, {}).options as { agent?: unknown }).agent !== undefined, 'verification off');
  });
});

describe('dockerode options for a host URL', () => {
  it('reads unix, tcp, bare host:port, ssh', () => {
    assert.equal(dockerOptionsFor('unix:///run/d.sock', null, {}).socketPath, '/run/d.sock');
    assert.deepEqual([dockerOptionsFor('tcp://h:2375', null, {}).host, dockerOptionsFor('tcp://h:2375', null, {}).protocol], ['h', 'http']);
    assert.equal(dockerOptionsFor('h:1234', null, {}).port, 1234);
    const ssh = dockerOptionsFor('ssh://me@box:2222', null, { SSH_AUTH_SOCK: '/agent' });
    assert.deepEqual([ssh.protocol, ssh.host, ssh.port, ssh.username, ssh.sshOptions], ['ssh', 'box', 2222, 'me', { agent: '/agent' }]);
  });
  it('sets every field, so docker-modem cannot mix in its own reading of DOCKER_HOST', () => {
    const options = dockerOptionsFor('unix:///run/d.sock', null, {});
    assert.ok('host' in options && options.host === undefined);
  });
  it('rejects schemes it cannot use, naming them', () => {
    assert.throws(() => dockerOptionsFor('npipe:////./pipe/docker_engine', null, {}), /uses npipe:\/\/, which proxytainer cannot use/);
  });
});
