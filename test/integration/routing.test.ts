import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import mc from 'minecraft-protocol';
import type Docker from 'dockerode';
import type { StatusDocument } from '../../src/control/status-document.js';
import { containerState, createMember, dockerSuite, eventually, removeTestObjects, ROOT, uniqueName } from '../support/docker-harness.js';
import { closeServer, freePort, listenLocal, readAll } from '../support/net.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';
import { containerLogs } from '../support/real-servers.js';
import { runClient } from '../support/server-clients.js';

const FIXTURES = join(ROOT, 'test/fixtures/routing');
/** The sniff deadline is the start timeout; short here, so that a silent connection's close is seen soon. */
const START_TIMEOUT_S = 8;

async function discoveryProxy(socket: string): Promise<ProxyProcess> {
  const proxy = await ProxyProcess.start(['run', '--control-socket', socket, '--start-timeout', `${START_TIMEOUT_S}s`], { ready: false });
  await proxy.waitFor(/discovery mode: following containers/);
  return proxy;
}

async function status(socket: string): Promise<StatusDocument> {
  const { code, stdout, stderr } = await runCli(['status', '--format', 'json', '--control-socket', socket]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as StatusDocument;
}

/** A member on the host network running named-server.mjs on `upstream`, declaring the shared `port` with `labels`. */
function backend(group: string, port: number, upstream: number, args: readonly string[], labels: Record<string, string>, binds: readonly string[] = []): Promise<Docker.Container> {
  return createMember({
    group,
    cmd: ['node', '/srv/routing/named-server.mjs', '--name', group, '--port', String(upstream), ...args],
    binds: [`${FIXTURES}:/srv/routing:ro`, ...binds],
    labels: { 'proxytainer.port': String(port), 'proxytainer.upstream': `127.0.0.1:${upstream}`, ...labels },
  });
}

/** A self-signed certificate for `names` in dir/cert.pem and dir/key.pem. */
function certificate(dir: string, names: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  const made = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-subj', `/CN=${names[0] ?? 'x'}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
}

/** curl to https://NAME:PORT/PATH, resolved to 127.0.0.1, trusting only `ca`. */
function curlTls(name: string, port: number, ca: string | null, path = '/'): ReturnType<typeof runClient> {
  const trust = ca === null ? ['-k'] : ['--cacert', ca];
  return runClient('curl', ['-sS', '--max-time', '30', ...trust, '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}${path}`], { timeoutMs: 40_000 });
}

function curlHttp(port: number, host: string | null, path = '/'): ReturnType<typeof runClient> {
  const header = host === null ? ['-H', 'Host:'] : ['-H', `Host: ${host}`];
  return runClient('curl', ['-sS', '--max-time', '30', ...header, `http://127.0.0.1:${port}${path}`], { timeoutMs: 40_000 });
}

async function exited(container: Docker.Container): Promise<boolean> {
  return (await containerState(container)).status !== 'running';
}

/** A relay to `port` that passes what the client sends on in `size`-byte TCP segments, a millisecond apart. */
async function splittingRelay(port: number, size: number): Promise<{ port: number; server: Server }> {
  const server = createServer((client) => {
    const upstream = connect({ port, host: '127.0.0.1', noDelay: true });
    client.setNoDelay(true);
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      client.pause();
      queue = queue.then(async () => {
        for (let at = 0; at < chunk.length; at += size) {
          upstream.write(chunk.subarray(at, at + size));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        client.resume();
      });
    });
    upstream.pipe(client);
    client.on('end', () => void queue.then(() => upstream.end()));
    for (const s of [client, upstream]) s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  });
  return { port: await listenLocal(server), server };
}

dockerSuite('one port, many groups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxytainer-routing-'));
  before(removeTestObjects);
  after(async () => {
    await removeTestObjects();
    rmSync(dir, { recursive: true, force: true });
  });

  it('TLS by SNI: each name reaches its own backend and sees its certificate; a split ClientHello routes; an unknown name wakes nothing', async () => {
    const socket = join(dir, 'tls.sock');
    const [port, upA, upB] = [await freePort(), await freePort(), await freePort()];
    const alpha = uniqueName('alpha');
    const beta = uniqueName('beta');
    certificate(join(dir, 'alpha'), ['alpha.test']);
    certificate(join(dir, 'beta'), ['*.beta.test']);
    const certs = `${dir}:/certs:ro`;
    const a = await backend(alpha, port, upA, ['--tls', '/certs/alpha'], { 'proxytainer.hostname': 'Alpha.test' }, [certs]);
    const b = await backend(beta, port, upB, ['--tls', '/certs/beta'], { 'proxytainer.hostname': '*.beta.test' }, [certs]);
    const proxy = await discoveryProxy(socket);
    try {
      await proxy.waitFor(new RegExp(`\\[${beta}\\] listening on port ${port} .*for \\*\\.beta\\.test`));

      const unknown = await curlTls('nobody.test', port, null);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /unrecognized name/i);
      const routed = (await status(socket)).groups.find((g) => g.name === alpha)?.listeners[0]?.routing;
      assert.ok(routed !== undefined, 'status shows the shared port');
      assert.deepEqual(routed.hostnames, ['alpha.test']);
      assert.deepEqual(routed.groups, [alpha, beta]);
      assert.equal(routed.counts?.unknownName, 1);
      assert.ok((await exited(a)) && (await exited(b)), 'an unknown name woke a group');

      const first = await curlTls('alpha.test', port, join(dir, 'alpha/cert.pem'), '/one');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, `${alpha} host=alpha.test:${port} url=/one\n`);
      assert.equal(await exited(b), true, 'alpha.test woke beta too');

      const relay = await splittingRelay(port, 7);
      try {
        const split = await curlTls('www.beta.test', relay.port, join(dir, 'beta/cert.pem'), '/split');
        assert.equal(split.code, 0, split.stderr);
        assert.equal(split.stdout, `${beta} host=www.beta.test:${relay.port} url=/split\n`);
      } finally {
        await closeServer(relay.server);
      }
      // The certificate is the backend's own: beta's name with alpha's certificate as the only trust fails verification.
      const wrongTrust = await curlTls('www.beta.test', port, join(dir, 'alpha/cert.pem'));
      assert.notEqual(wrongTrust.code, 0);
      assert.match(wrongTrust.stderr, /certificate/i);
    } finally {
      await proxy.stop();
    }
  });

  it('HTTP by Host: exact and wildcard names, no Host, a scan, a silent client, an endless header, and keep-alive that stays with its group', async () => {
    const socket = join(dir, 'http.sock');
    const [port, up1, up2] = [await freePort(), await freePort(), await freePort()];
    const exact = uniqueName('exact');
    const wild = uniqueName('wild');
    const one = await backend(exact, port, up1, [], { 'proxytainer.hostname': 'app.test' });
    const two = await backend(wild, port, up2, [], { 'proxytainer.hostname': '*.apps.test' });
    const proxy = await discoveryProxy(socket);
    try {
      await proxy.waitFor(new RegExp(`\\[${wild}\\] listening on port ${port} `));

      const noHost = await curlHttp(port, null);
      assert.match(noHost.stdout, /^This request names no host; proxytainer routes this port by the Host header\.\n$/);
      const other = await runClient('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nobody.test', `http://127.0.0.1:${port}/`]);
      assert.equal(other.stdout, '421');

      // A scan: connect and close at once; then a client that connects and says nothing.
      const scan = connect(port, '127.0.0.1');
      await new Promise((resolve) => scan.once('connect', resolve));
      scan.destroy();
      const silent = connect(port, '127.0.0.1');
      silent.on('error', () => undefined);
      const opened = performance.now();
      const { data } = await readAll(silent);
      const silentMs = performance.now() - opened;
      assert.equal(data.length, 0);
      assert.ok(silentMs > (START_TIMEOUT_S - 1) * 1000 && silentMs < (START_TIMEOUT_S + 5) * 1000, `a silent client closed after ${Math.round(silentMs)}ms, not at the ${START_TIMEOUT_S}s deadline`);

      // A head that never ends is cut at 16 KiB with a 400.
      const endless = connect(port, '127.0.0.1');
      endless.on('error', () => undefined);
      let sent = 0;
      endless.write('GET / HTTP/1.1\r\nHost: app.test\r\nX-Endless: ');
      const dribble = setInterval(() => {
        if (!endless.destroyed && endless.writable) endless.write('x'.repeat(512));
        sent += 512;
      }, 2);
      const cut = await readAll(endless);
      clearInterval(dribble);
      assert.match(cut.data.toString(), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*the request head is longer than the 16384-byte read limit/);
      assert.ok(sent < 1024 * 1024, `the proxy read ${sent} bytes of a header before cutting it`);

      const counts = (await status(socket)).groups.find((g) => g.name === exact)?.listeners[0]?.routing?.counts;
      assert.ok(counts !== undefined && counts !== null, 'status counts what the port closed');
      assert.equal(counts.noName, 1);
      assert.equal(counts.unknownName, 1);
      assert.equal(counts.malformed, 1);
      assert.ok(counts.silent >= 2, `silent: ${counts.silent} (the scan and the silent client)`);
      assert.ok((await exited(one)) && (await exited(two)), 'a refused connection woke a group');

      assert.equal((await curlHttp(port, 'APP.test')).stdout, `${exact} host=APP.test url=/\n`);
      assert.equal(await exited(two), true);
      assert.equal((await curlHttp(port, 'deep.x.apps.test:80', '/w')).stdout, `${wild} host=deep.x.apps.test:80 url=/w\n`);

      // Keep-alive: the second request names the other group, on the same connection, and stays where the first went.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = (host: string): Promise<{ body: string; reused: boolean }> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/ka', agent, headers: { Host: host } }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            res.on('end', () => {
              resolve({ body, reused: req.reusedSocket });
            });
          });
          req.on('error', reject);
          req.end();
        });
      assert.deepEqual(await get('app.test'), { body: `${exact} host=app.test url=/ka\n`, reused: false });
      assert.deepEqual(await get('z.apps.test'), { body: `${exact} host=z.apps.test url=/ka\n`, reused: true });
      agent.destroy();
    } finally {
      await proxy.stop();
    }
  });

  it('static mode --hostname: a request naming another host gets a 421 and wakes nothing; the named host wakes the group', async () => {
    const group = uniqueName('named');
    const upstream = await freePort();
    const member = await createMember({ group, cmd: ['node', '/srv/routing/named-server.mjs', '--name', group, '--port', String(upstream)], binds: [`${FIXTURES}:/srv/routing:ro`] });
    const port = await freePort();
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--hostname', 'app.test,*.app.test']);
    try {
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} .*for app\\.test, \\*\\.app\\.test`));
      const other = await runClient('curl', ['-s', '-w', ' %{http_code}', '-H', 'Host: other.test', `http://127.0.0.1:${port}/`]);
      assert.equal(other.stdout, 'No service here answers to the name other.test.\n 421');
      assert.equal(await exited(member), true, 'a request for another host woke the group');
      assert.equal((await curlHttp(port, 'www.app.test')).stdout, `${group} host=www.app.test url=/\n`);
    } finally {
      await proxy.stop();
    }
  });

  it('Minecraft: a status ping while asleep gets the MOTD and wakes nothing; a login wakes the server, is held, and reaches it', async () => {
    const socket = join(dir, 'mc.sock');
    const [port, upstream] = [await freePort(), await freePort()];
    const group = uniqueName('mc');
    const server = await backend(group, port, upstream, ['--minecraft'], { 'proxytainer.protocol': 'minecraft', 'proxytainer.motd': 'Sleeping test world' }, [
      `${join(ROOT, 'node_modules')}:/srv/node_modules:ro`,
    ]);
    const proxy = await discoveryProxy(socket);
    try {
      await proxy.waitFor(new RegExp(`\\[${group}\\] listening on port ${port} `));
      const ping = (await mc.ping({ host: '127.0.0.1', port, version: '1.21.1' })) as mc.NewPingResult;
      assert.deepEqual(ping.description, { text: 'Sleeping test world' });
      assert.equal(ping.version.protocol, 767);
      const counts = (await status(socket)).groups.find((g) => g.name === group)?.listeners[0]?.routing?.counts;
      assert.equal(counts?.pingsAnswered, 1);
      assert.equal(await exited(server), true, 'a status ping woke the server');

      const reached = await new Promise<string>((resolve, reject) => {
        const client = mc.createClient({ host: '127.0.0.1', port, username: 'Steve', auth: 'offline', version: '1.21.1' });
        const timer = setTimeout(() => {
          client.end('test timed out');
          reject(new Error('the login did not get past the login state within 40s'));
        }, 40_000);
        client.on('error', () => undefined);
        client.on('state', (state: string) => {
          if (state === 'configuration' || state === 'play') {
            clearTimeout(timer);
            client.end('done');
            resolve(state);
          }
        });
        client.once('disconnect', (packet: { reason: string }) => {
          clearTimeout(timer);
          reject(new Error(`disconnected: ${packet.reason}`));
        });
      });
      assert.match(reached, /configuration|play/);
      await eventually(async () => (await containerLogs(server)).includes('login Steve'), 5_000, 'the real server to log the login');
    } finally {
      await proxy.stop();
    }
  });

  it('Minecraft: a login the server cannot take in time gets a disconnect that says it is starting', async () => {
    const group = uniqueName('mcslow');
    const upstream = await freePort();
    // Runs, but never listens: the wake succeeds and the connect never does.
    await createMember({ group, cmd: ['sleep', '120'] });
    const port = await freePort();
    const proxy = await ProxyProcess.start(['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--protocol', 'minecraft', '--start-timeout', '3s']);
    try {
      const started = performance.now();
      const reason = await new Promise<string>((resolve, reject) => {
        const client = mc.createClient({ host: '127.0.0.1', port, username: 'Alex', auth: 'offline', version: '1.21.1' });
        const timer = setTimeout(() => {
          reject(new Error('no disconnect within 20s'));
        }, 20_000);
        client.on('error', () => undefined);
        client.once('disconnect', (packet: { reason: string }) => {
          clearTimeout(timer);
          resolve(packet.reason);
        });
      });
      assert.deepEqual(JSON.parse(reason), { text: 'The server is starting; try again in a moment.' });
      assert.ok(performance.now() - started >= 2_500, 'the disconnect came before the 3s bound');
    } finally {
      await proxy.stop();
    }
  });
});

