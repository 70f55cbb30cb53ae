import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ComposeProject, composeCommand, containerLog, mustRun, waitForLog } from '../support/compose.js';
import { docker, dockerSuite, removeTestObjects, ROOT, RUN_ID, TEST_IMAGE, TEST_LABEL, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, payload, sha256 } from '../support/net.js';

// The sidecar image, built from the Dockerfile as a user would, and the
// top-level docker-compose.yml run with it. No registry is reachable here, so
// the Dockerfile's NODE_IMAGE is a stand-in built from this machine's node
// (scripts/build-node-base-image.sh), and the compose example's public server
// image is replaced by the test image in an override file.

/** Kept between runs (like proxytainer-test:latest) so that a warm build is a cached one. */
const IMAGE = process.env['PROXYTAINER_SIDECAR_TEST_IMAGE'] ?? 'proxytainer-sidecar-test:latest';
const SOCKET = '/var/run/docker.sock';
const timings: string[] = [];

async function timed<T>(what: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await body();
  timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

/**
 * Builds the stand-in base and the project image. The classic builder leaves
 * each stage's result untagged, and a rebuild untags the image it replaces:
 * untagged images made from the stand-in base (they inherit its label) that
 * this build did not use are removed. What it used stays, as the next build's
 * cache; an image a container still uses is kept by Docker.
 */
async function buildImage(): Promise<void> {
  const base = (await timed('base image', () => mustRun('bash', ['scripts/build-node-base-image.sh']))).stdout.trim();
  const build = await timed('project image', () => mustRun('docker', ['build', '--build-arg', `NODE_IMAGE=${base}`, '--tag', IMAGE, '.'], { cwd: ROOT }));
  const used = new Set(Array.from(build.stdout.matchAll(/---> ([0-9a-f]{12})\b/g), (match) => match[1]));
  const leftovers = await docker.listImages({ filters: { dangling: ['true'], label: ['org.proxytainer.node-base'] } });
  for (const image of leftovers.filter((i) => !used.has(i.Id.replace(/^sha256:/, '').slice(0, 12)))) {
    await docker
      .getImage(image.Id)
      .remove()
      .catch(() => undefined);
  }
}

/** Reads the test server's greeting line, then checks that the rest of the connection echoes 256 KiB intact. */
async function greetAndEcho(port: number): Promise<string> {
  const data = payload(256 * 1024, 7);
  const received = await echoThrough(port, data);
  const newline = received.indexOf('\n');
  assert.ok(newline > 0, `no greeting line in ${received.length} bytes: "${received.subarray(0, 200).toString()}"`);
  const echoed = received.subarray(newline + 1);
  assert.equal(echoed.length, data.length);
  assert.equal(sha256(echoed), sha256(data));
  return received.subarray(0, newline).toString();
}

dockerSuite('the sidecar image and the compose example', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'proxytainer-compose-'));
  let project: ComposeProject | undefined;

  before(
    async () => {
      await removeTestObjects();
      await buildImage();
    },
    { timeout: 900_000 },
  );

  after(async () => {
    await project?.down();
    await removeTestObjects();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('runs the CLI as its entrypoint', async (t) => {
    t.diagnostic(`build (${IMAGE}): ${timings.join(', ')}`);
    const { stdout } = await mustRun('docker', ['run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, IMAGE, '--version']);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
    const info = await docker.getImage(IMAGE).inspect();
    assert.deepEqual(info.Config.Entrypoint, ['node', '--max-semi-space-size=4', '/app/dist/cli/entry.js']);
    assert.equal(info.Config.Labels['org.opencontainers.image.title'], 'proxytainer');
    t.diagnostic(`image size: ${(info.Size / 1e6).toFixed(1)} MB`);
  });

  it('compose: the original example wakes the server through the published port and puts it to sleep again', { timeout: 300_000 }, async (t) => {
    const compose = await timed('compose command', composeCommand);
    const group = uniqueName('sidecar');
    const [port, metricsPort] = [await freePort(), await freePort()];
    // What the test changes in the example: its own image names (no registry),
    // a group of its own (groups are engine-wide), a short idle period, and labels
    // for cleanup. Ports come from PROXYTAINER_PORT: compose appends override ports.
    const override = join(workdir, 'docker-compose.test.yml');
    writeFileSync(
      override,
      [
        'services:',
        '  proxytainer:',
        `    image: "${IMAGE}"`,
        `    command: --port 5001 --host localhost:5000 --group ${group} --idle 2 --metrics :9464`,
        '    environment:',
        '      - PROXYTAINER_LOG=debug',
        '    labels:',
        `      - ${TEST_LABEL}=${RUN_ID}`,
        '  myserver:',
        `    image: "${TEST_IMAGE}"`,
        // Listening on loopback only: reachable from nowhere but the proxy's network namespace.
        '    command: node /srv/server.mjs --port 5000 --host 127.0.0.1 --greet',
        '    labels:',
        `      - proxytainer.group=${group}`,
        `      - ${TEST_LABEL}=${RUN_ID}`,
        'networks:',
        '  default:',
        '    labels:',
        `      - ${TEST_LABEL}=${RUN_ID}`,
        '',
      ].join('\n'),
    );
    const sidecar = new ComposeProject(compose, uniqueName('proxytainer-sidecar-test'), [join(ROOT, 'docker-compose.yml'), override], {
      PROXYTAINER_PORT: `127.0.0.1:${port}`,
      PROXYTAINER_METRICS_PORT: `127.0.0.1:${metricsPort}`,
    });
    project = sidecar;

    await timed('compose up', () => sidecar.run('up', '--detach', '--no-build'));
    const proxy = (await sidecar.container('proxytainer')).id;
    await waitForLog(proxy, /listening on /, 30_000);

    // `up` started myserver too; the proxy follows that and puts it to sleep after the idle period.
    await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\)`), 30_000);
    await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
    assert.equal((await sidecar.container('myserver')).state, 'exited');

    // Cold wake: a connection to the published port while the server is stopped.
    const started = Date.now();
    const greeting = await greetAndEcho(port);
    t.diagnostic(`cold wake through the sidecar: ${Date.now() - started} ms to the echoed 256 KiB`);
    assert.match(greeting, /^hello \S+ healthy=true uptime=\d+$/);
    const uptime = Number(/uptime=(\d+)/.exec(greeting)?.[1]);
    assert.ok(uptime < 10_000, `the server answered with ${uptime} ms of uptime: it was not freshly started`);
    await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Idle => Starting\\): connection from `), 5_000);
    assert.equal((await sidecar.container('myserver')).state, 'running');

    // Warm: the same server answers again at once.
    const warm = await greetAndEcho(port);
    assert.ok(Number(/uptime=(\d+)/.exec(warm)?.[1]) >= uptime, 'a warm connection reaches the same server process');

    // Idle stop, the second time: same log lines as the original tool.
    await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Running => Stopping\\)`), 30_000, 2);
    await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000, 2);
    assert.equal((await sidecar.container('myserver')).state, 'exited');

    // And woken once more: the restarted server is back in the proxy's network namespace.
    assert.match(await greetAndEcho(port), /^hello /);
    // The metrics, published on loopback as the example publishes them, counted the wakes.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^proxytainer_wakes_total\\{group="${group}",result="ready"\\} 2$`, 'm'));
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/groups/${group}/health`)).status, 200);
    t.diagnostic(timings.join(', '));
  });

  it('compose: the discovery service finds the labelled server and wakes it through the port its labels ask for', { timeout: 300_000 }, async () => {
    const compose = await composeCommand();
    const group = uniqueName('discovered');
    const port = await freePort();
    const override = join(workdir, 'docker-compose.discovery.yml');
    writeFileSync(
      override,
      [
        'services:',
        '  proxytainer-discovery:',
        `    image: "${IMAGE}"`,
        `    command: run --group ${group} --control-socket /tmp/control.sock`,
        '    labels:',
        `      - ${TEST_LABEL}=${RUN_ID}`,
        '  web:',
        `    image: "${TEST_IMAGE}"`,
        `    command: node /srv/server.mjs --port ${port} --greet`,
        '    labels:',
        `      - proxytainer.group=${group}`,
        '      - proxytainer.idle=2s',
        `      - ${TEST_LABEL}=${RUN_ID}`,
        'networks:',
        '  default:',
        '    labels:',
        `      - ${TEST_LABEL}=${RUN_ID}`,
        '',
      ].join('\n'),
    );
    const discovered = new ComposeProject(compose, uniqueName('proxytainer-discovery-test'), [join(ROOT, 'docker-compose.yml'), override], { WEB_PORT: String(port) }, ['--profile', 'discovery']);
    try {
      await discovered.run('up', '--detach', '--no-build', 'proxytainer-discovery', 'web');
      const proxy = (await discovered.container('proxytainer-discovery')).id;
      await waitForLog(proxy, new RegExp(`\\[${group}\\] listening on port ${port} \\(all interfaces\\), forwarding to \\S+:${port} \\(its address, found at each wake\\)`), 30_000);
      await waitForLog(proxy, new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
      assert.equal((await discovered.container('web')).state, 'exited');
      assert.match(await greetAndEcho(port), /^hello /);
      assert.equal((await discovered.container('web')).state, 'running');
    } finally {
      await discovered.down();
    }
  });

  const otherEngine = process.env['DOCKER_HOST'] !== undefined && process.env['DOCKER_HOST'] !== `unix://${SOCKET}`;
  it('runs unprivileged with the socket\'s group added, stops on SIGTERM, and says what is wrong without the group', { skip: otherEngine ? `needs the engine on ${SOCKET}` : false }, async () => {
    const gid = statSync(SOCKET).gid;
    const run = async (groupAdd: string[]): Promise<string> => {
      const container = await docker.createContainer({
        name: uniqueName('proxytainer-unprivileged'),
        Image: IMAGE,
        User: '1000:1000',
        Cmd: ['--port', '5001', '--host', 'localhost:5000', '--group', uniqueName('unprivileged')],
        Labels: { [TEST_LABEL]: RUN_ID },
        HostConfig: { Binds: [`${SOCKET}:/var/run/docker.sock:ro`], GroupAdd: groupAdd },
      });
      await container.start();
      return container.id;
    };
    const allowed = await run([String(gid)]);
    await waitForLog(allowed, /listening on /, 15_000);
    // As PID 1 without an init, it still takes `docker stop`'s SIGTERM: it exits 0 at once, not killed after 10 s.
    const stopping = Date.now();
    await docker.getContainer(allowed).stop({ t: 10 });
    const stopped = await docker.getContainer(allowed).inspect();
    assert.equal(stopped.State.ExitCode, 0, await containerLog(allowed));
    assert.ok(Date.now() - stopping < 5_000, `docker stop took ${Date.now() - stopping} ms`);
    await docker.getContainer(allowed).remove({ force: true });

    const refused = await run([]);
    const { StatusCode } = (await docker.getContainer(refused).wait()) as { StatusCode: number };
    const log = await containerLog(refused);
    assert.equal(StatusCode, 1, log);
    assert.match(log, /\/var\/run\/docker\.sock/);
    await docker.getContainer(refused).remove({ force: true });
  });
});
