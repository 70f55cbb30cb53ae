import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it, type TestContext } from 'node:test';
import type { StatusDocument, WakeStatus } from '../../src/control/status-document.js';
import type { WebhookDocument } from '../../src/webhooks/webhook-document.js';
import { containerState, createMember, dockerSuite, eventually, removeTestObjects, uniqueName } from '../support/docker-harness.js';
import { startReceiver } from '../support/http-receiver.js';
import { formatProblems, get, promtoolCheck, sample } from '../support/metrics-text.js';
import { freePort, openSocket, readAll } from '../support/net.js';
import { BIN, ROOT } from '../support/paths.js';
import { ProxyProcess, runCli } from '../support/proxy-process.js';

/** A static-mode proxy in front of a fresh group, with metrics on and webhooks to `webhook`. */
async function proxyFor(options: { readonly cmd?: readonly string[]; readonly idle?: string; readonly webhook?: string } = {}) {
  const group = uniqueName('obs');
  const [port, upstream, metrics] = [await freePort(), await freePort(), await freePort()];
  const container = await createMember(
    options.cmd === undefined ? { group, server: ['--port', String(upstream), '--host', '127.0.0.1'] } : { group, cmd: options.cmd },
  );
  const socket = join(tmpdir(), `${uniqueName('control')}.sock`);
  const args = ['run', '--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', options.idle ?? '60s', '--control-socket', socket, '--metrics', `127.0.0.1:${metrics}`];
  const proxy = await ProxyProcess.start([...args, ...(options.webhook === undefined ? [] : ['--webhook', options.webhook])]);
  await proxy.waitFor(/control socket at/);
  return { group, port, container, socket, proxy, base: `http://127.0.0.1:${metrics}` };
}

async function lastWake(group: string, socket: string): Promise<WakeStatus | null | undefined> {
  const { code, stdout, stderr } = await runCli(['status', group, '--format', 'json', '--control-socket', socket]);
  assert.equal(code, 0, stderr);
  return (JSON.parse(stdout) as StatusDocument).groups[0]?.lastWake;
}

function assertPromtoolClean(t: TestContext, text: string): void {
  assert.deepEqual(formatProblems(text), []);
  const checked = promtoolCheck(text);
  if (checked === null) {
    if ((process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false') assert.fail('promtool is not installed; scripts/promtool.sh (run by scripts/engine.sh) installs it');
    t.diagnostic('promtool is not installed (bash scripts/promtool.sh); checked against the format grammar only');
    return;
  }
  assert.deepEqual(checked, { status: 0, output: '' });
}

/** The built CLI under a real pseudo-terminal (util-linux `script`), with a keyboard: `type` sends keys, Ctrl-C included. */
function onTerminal(args: readonly string[]) {
  const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;
  // `script` gives the pty no size when it has no terminal itself; stty sets one, as a real terminal has.
  const child = spawn('script', ['-qfec', `stty cols 160 rows 30; exec ${[BIN, ...args].map(quote).join(' ')}`, '/dev/null'], {
    cwd: ROOT,
    env: { ...process.env, TERM: 'xterm', PROXYTAINER_LOG: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    screen: () => screen,
    type: (keys: string) => child.stdin.write(keys),
    exited,
    kill: () => {
      if (child.exitCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
    },
  };
}

const ESC = '\u001b';

/** What the screen shows after the last time the cursor went home, without colours. */
function lastFrame(screen: string): string {
  return (screen.split('\u001b[H').at(-1) ?? '').replace(new RegExp(`${ESC}\\[[\\d;?]*[a-zA-Z]`, 'g'), '');
}

dockerSuite('observability: metrics, webhooks, status that explains itself', () => {
  before(removeTestObjects);
  after(removeTestObjects);

  it('a cold wake through the port and an idle stop: metrics that promtool passes, status and the log naming the client, the four webhooks in order', async (t) => {
    const receiver = await startReceiver();
    const { group, port, socket, proxy, base } = await proxyFor({ idle: '2s', webhook: receiver.url });
    try {
      const client = await openSocket(port);
      const clientPort = client.localPort;
      const answer = readAll(client);
      client.end('hello');
      assert.equal((await answer).data.toString(), 'hello');
      const who = `connection from 127.0.0.1:${clientPort} on port ${port}`;
      await proxy.waitFor(new RegExp(`\\[${group}\\] woke in \\S+ \\(woken by ${who.replaceAll('.', '\\.')}\\)`));
      const wake = await lastWake(group, socket);
      assert.equal(wake?.reason, who);
      assert.deepEqual(wake.by, { kind: 'connection', client: { address: '127.0.0.1', port: clientPort }, port });
      assert.equal(wake.result, 'ready');
      assert.ok(wake.durationSeconds !== null && wake.durationSeconds > 0);

      const text = (await get(`${base}/metrics`)).body;
      assert.equal(sample(text, `proxytainer_wakes_total{group="${group}",result="ready"}`), 1);
      assert.equal(sample(text, `proxytainer_wake_duration_seconds_count{group="${group}"}`), 1);
      assert.equal(sample(text, `proxytainer_bytes_total{group="${group}",direction="in"}`), 5);
      assert.equal(sample(text, `proxytainer_connections_total{group="${group}"}`), 1);
      assert.equal(sample(text, 'proxytainer_docker_requests_total{operation="wake"}'), 1);
      assertPromtoolClean(t, text);

      await receiver.received(4, 20_000);
      const docs = receiver.requests.map((r) => JSON.parse(r.body) as WebhookDocument);
      assert.deepEqual(docs.map((d) => `${d.from} => ${d.to}`), ['Idle => Starting', 'Starting => Running', 'Running => Stopping', 'Stopping => Idle']);
      assert.equal(docs[0]?.reason, who);
      assert.equal(docs[2]?.reason, 'no traffic for 2s');
      assert.equal((await get(`${base}/groups/${group}/health`)).status, 200);
    } finally {
      await proxy.stop();
      await receiver.close();
    }
  });

  it("'wake command' after proxytainer wake; the outside start after docker start", async () => {
    const { group, socket, proxy, container } = await proxyFor();
    try {
      const woken = await runCli(['wake', group, '--control-socket', socket]);
      assert.equal(woken.code, 0, woken.stderr);
      const byCommand = await lastWake(group, socket);
      assert.deepEqual({ reason: byCommand?.reason, by: byCommand?.by, result: byCommand?.result }, { reason: 'wake command', by: { kind: 'operator', via: 'CLI' }, result: 'ready' });
      await proxy.waitFor(/woke in \S+ \(woken by wake command\)/);

      const slept = await runCli(['sleep', group, '--control-socket', socket]);
      assert.equal(slept.code, 0, slept.stderr);
      await container.start();
      await proxy.waitFor(/State change \(Idle => Running\)/);
      const outside = await lastWake(group, socket);
      assert.match(outside?.reason ?? '', /^start made outside proxytainer/);
      assert.deepEqual({ by: outside?.by, durationSeconds: outside?.durationSeconds }, { by: { kind: 'outside' }, durationSeconds: null });
    } finally {
      await proxy.stop();
    }
  });

  it('a failed wake: counted failed, the health endpoint answers 503 with the reason, and probing it never starts the group', async () => {
    const { group, port, socket, proxy, base, container } = await proxyFor({ cmd: ['/no/such/program'] });
    try {
      assert.equal((await get(`${base}/groups/${group}/health`)).status, 200, 'asleep is healthy');
      const client = await openSocket(port);
      await readAll(client);
      await proxy.waitFor(/wake failed/);
      const health = await get(`${base}/groups/${group}/health`);
      assert.equal(health.status, 503);
      assert.match(health.body, /"reason":"the last wake failed \d+s ago: could not start /);
      const text = (await get(`${base}/metrics`)).body;
      assert.equal(sample(text, `proxytainer_wakes_total{group="${group}",result="failed"}`), 1);
      const wake = await lastWake(group, socket);
      assert.equal(wake?.result, 'failed');
      const starts = (await get(`${base}/metrics`)).body;
      for (let i = 0; i < 3; i++) await get(`${base}/groups/${group}/health`);
      assert.equal(sample((await get(`${base}/metrics`)).body, 'proxytainer_docker_requests_total{operation="wake"}'), sample(starts, 'proxytainer_docker_requests_total{operation="wake"}'));
      assert.equal((await containerState(container)).status, 'created');
    } finally {
      await proxy.stop();
    }
  });

  it('status --watch on a real terminal: redrawn in place as the group wakes, no clearing between frames, Ctrl-C ends it with the cursor back', async () => {
    const { group, socket, proxy } = await proxyFor();
    const terminal = onTerminal(['status', group, '--watch', '--control-socket', socket]);
    try {
      await eventually(() => new RegExp(`${group}\\s+Idle`).test(lastFrame(terminal.screen())), 15_000, 'the first frame');
      const woken = await runCli(['wake', group, '--control-socket', socket]);
      assert.equal(woken.code, 0, woken.stderr);
      await eventually(() => /Last wake:\s+\S+ ago, by wake command; ready/.test(lastFrame(terminal.screen())), 15_000, 'a frame showing the wake');
      assert.match(lastFrame(terminal.screen()), new RegExp(`${group}\\s+Running`));
      terminal.type('\u0003');
      const timeout = new Promise((resolve) => {
        setTimeout(() => {
          resolve('still running');
        }, 10_000).unref();
      });
      assert.equal(await Promise.race([terminal.exited, timeout]), 0);
      const screen = terminal.screen();
      assert.equal(screen.split('\u001b[2J').length - 1, 1, 'the screen is cleared once, at the start: frames overwrite in place');
      assert.ok(screen.split('\u001b[H').length - 1 >= 2, 'more than one frame was drawn');
      assert.ok(screen.lastIndexOf('\u001b[?25h') > screen.lastIndexOf('\u001b[?25l'), 'the cursor is shown again');
    } finally {
      terminal.kill();
      await proxy.stop();
    }
  });

  it('status --watch --format json prints one JSON document a line, each time something changes', async () => {
    const { group, socket, proxy } = await proxyFor();
    const watch = spawn(BIN, ['status', group, '--watch', '--format', 'json', '--control-socket', socket], { cwd: ROOT, env: { ...process.env, PROXYTAINER_LOG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => watch.once('close', resolve));
    const docs = (): StatusDocument[] => out.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as StatusDocument);
    try {
      await eventually(() => docs().length >= 1, 15_000, 'the first document');
      const woken = await runCli(['wake', group, '--control-socket', socket]);
      assert.equal(woken.code, 0, woken.stderr);
      await eventually(() => docs().some((d) => d.groups[0]?.state === 'Running'), 15_000, 'a document with the group Running');
      watch.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      watch.kill('SIGKILL');
      await proxy.stop();
    }
  });
});
