import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { mustRun } from '../support/compose.js';
import { docker, dockerSuite, eventually, ROOT, RUN_ID, TEST_IMAGE, TEST_LABEL, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort, payload, sha256 } from '../support/net.js';
import { joinTestSwarm, leaveTestSwarm, removeTestServices, serviceScale } from '../support/swarm-harness.js';

// The stack file at the top of the repository, deployed with `docker stack
// deploy` as a user would, serving on this machine. No registry is reachable
// here, so the image is built from the Dockerfile on a stand-in Node base
// (scripts/build-node-base-image.sh, as test/integration/image.test.ts does),
// and an override file swaps the public app image for the test image, takes a
// group of its own (groups are swarm-wide) and a short idle period.

const IMAGE = process.env['PROXYTAINER_STACK_TEST_IMAGE'] ?? 'proxytainer-stack-test:latest';

async function buildImage(): Promise<void> {
  const base = (await mustRun('bash', ['scripts/build-node-base-image.sh'])).stdout.trim();
  await mustRun('docker', ['build', '--build-arg', `NODE_IMAGE=${base}`, '--tag', IMAGE, '.'], { cwd: ROOT });
}

/** The log of a service's tasks so far, as `docker service logs` shows it. */
async function serviceLog(service: string): Promise<string> {
  const { stdout, stderr } = await mustRun('docker', ['service', 'logs', '--raw', service]);
  return stdout + stderr;
}

async function waitForServiceLog(service: string, pattern: RegExp, timeoutMs: number): Promise<void> {
  let last = '';
  try {
    await eventually(async () => pattern.test((last = await serviceLog(service))), timeoutMs, `${pattern} in the log of ${service}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}; its log:\n${last}`, { cause: error });
  }
}

async function greetAndEcho(port: number): Promise<string> {
  const data = payload(64 * 1024, 5);
  const received = await echoThrough(port, data);
  const newline = received.indexOf('\n');
  assert.ok(newline > 0, `no greeting line in ${received.length} bytes`);
  assert.equal(sha256(received.subarray(newline + 1)), sha256(data));
  return received.subarray(0, newline).toString();
}

dockerSuite('the Swarm stack file', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'proxytainer-stack-'));
  const stack = uniqueName('proxytainer-stack-test');
  let deployed = false;

  before(
    async () => {
      await joinTestSwarm();
      await buildImage();
    },
    { timeout: 900_000 },
  );

  after(async () => {
    if (deployed) {
      await mustRun('docker', ['stack', 'rm', stack]);
      // The stack's network goes once its tasks have left it; the next test run would otherwise meet it.
      await eventually(async () => (await docker.listNetworks({ filters: { label: [`com.docker.stack.namespace=${stack}`] } })).length === 0, 60_000, `the network of stack ${stack} to be gone`).catch(() => undefined);
    }
    await removeTestServices();
    await leaveTestSwarm();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('deploys with docker stack deploy and serves: the app wakes from 0 through the published port, and sleeps again', { timeout: 300_000 }, async () => {
    const group = uniqueName('stack');
    const port = await freePort();
    const override = join(workdir, 'swarm-stack.test.yml');
    writeFileSync(
      override,
      [
        'version: "3.8"',
        'services:',
        '  proxytainer:',
        `    image: "${IMAGE}"`,
        `    command: run --group ${group}`,
        '    environment:',
        '      - PROXYTAINER_LOG=debug',
        '    deploy:',
        '      labels:',
        `        ${TEST_LABEL}: "${RUN_ID}"`,
        '  app:',
        `    image: "${TEST_IMAGE}"`,
        '    command: node /srv/server.mjs --port 8080 --greet',
        '    deploy:',
        '      labels:',
        `        proxytainer.group: ${group}`,
        '        proxytainer.idle: 2s',
        `        ${TEST_LABEL}: "${RUN_ID}"`,
        '',
      ].join('\n'),
    );
    await mustRun('docker', ['stack', 'deploy', '--compose-file', join(ROOT, 'swarm-stack.yml'), '--compose-file', override, stack], { env: { PROXYTAINER_PORT: String(port) } });
    deployed = true;
    const [proxy, app] = [`${stack}_proxytainer`, `${stack}_app`];
    await waitForServiceLog(proxy, new RegExp(`\\[${group}\\] listening on port 8080 \\(all interfaces\\), forwarding to ${app}:8080 \\(its address, found at each wake\\)`), 60_000);
    assert.deepEqual(await serviceScale(app).then(({ desired, running }) => [desired, running]), [0, 0], 'the app is deployed asleep');

    assert.match(await greetAndEcho(port), /^hello \S+ healthy=true uptime=\d+$/);
    assert.equal((await serviceScale(app)).running, 1);
    await waitForServiceLog(proxy, new RegExp(`\\[${group}\\] State change \\(Stopping => Idle\\)`), 30_000);
    assert.deepEqual(await serviceScale(app).then(({ desired, running }) => [desired, running]), [0, 0]);

    assert.match(await greetAndEcho(port), /^hello /, 'woken again');
  });
});
