import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { packageInfo } from '../../src/cli/package-info.js';
import type { StatusDocument } from '../../src/control/status-document.js';
import { createMember, dockerSuite, removeTestObjects, ROOT, uniqueName } from '../support/docker-harness.js';
import { echoThrough, freePort } from '../support/net.js';
import { BIN } from '../support/proxy-process.js';
import { type CommandResult, runCommand } from '../support/run-command.js';
import { SocketRelay } from '../support/socket-relay.js';

/** Runs a command from `cwd` with `env` added, proxytainer logging only what it logs by default. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = tmpdir()): Promise<CommandResult> {
  return runCommand(command, args, { cwd, env: { PROXYTAINER_LOG: '', NO_COLOR: '1', ...env } });
}

dockerSuite('docker proxytainer, through the real docker CLI', () => {
  const config = mkdtempSync(join(tmpdir(), 'proxytainer-docker-config-'));
  const env = { DOCKER_CONFIG: config };
  const docker = (...args: string[]): Promise<CommandResult> => run('docker', args, env);
  const relay = new SocketRelay();

  before(async () => {
    await removeTestObjects();
    await relay.open();
    assert.equal((await run(BIN, ['plugin', 'install'], env, '/')).code, 0);
  });
  after(async () => {
    await relay.cut();
    await removeTestObjects();
    rmSync(config, { recursive: true, force: true });
  });

  it('plugin install links docker-proxytainer into $DOCKER_CONFIG/cli-plugins, from any directory', async () => {
    const installed = await run(BIN, ['plugin', 'install'], env, '/');
    assert.equal(installed.code, 0, installed.stderr);
    const link = join(config, 'cli-plugins', 'docker-proxytainer');
    assert.ok(lstatSync(link).isSymbolicLink());
    const again = await run(BIN, ['plugin', 'install'], env, '/');
    assert.equal(again.code, 0, 'installing again replaces our own link');
  });

  it('docker lists it under Management Commands, with valid metadata', async () => {
    const help = await docker('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Management Commands:[\s\S]*\n {2}proxytainer\*\s*Wake containers on demand behind a TCP proxy/);
    assert.doesNotMatch(help.stdout + help.stderr, /Invalid Plugins/);
    const metadata = await run(join(ROOT, 'bin', 'docker-proxytainer'), ['docker-cli-plugin-metadata'], {});
    assert.equal(metadata.code, 0);
    assert.equal(metadata.stderr, '');
    assert.deepEqual(JSON.parse(metadata.stdout), {
      SchemaVersion: '0.1.0',
      Vendor: 'proxytainer',
      Version: packageInfo.version,
      ShortDescription: 'Wake containers on demand behind a TCP proxy',
      URL: 'https://github.com/proxytainer/proxytainer',
    });
  });

  it('docker proxytainer --help and docker help proxytainer print docker-style help', async () => {
    for (const args of [['proxytainer', '--help'], ['help', 'proxytainer']]) {
      const help = await docker(...args);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: {2}docker proxytainer \[OPTIONS\] COMMAND\n/);
      assert.match(help.stdout, /\nCommands:\n {2}run +proxy a group's port[\s\S]*\n {2}status [\s\S]*\n {2}wake [\s\S]*\n {2}sleep [\s\S]*\nOptions:\n/);
      assert.match(help.stdout, /\nRun 'docker proxytainer COMMAND --help' for more information on a command\.\n$/);
    }
    const runHelp = await docker('proxytainer', 'run', '--help');
    assert.match(runHelp.stdout, /^Usage: {2}docker proxytainer run \[OPTIONS\]/);
    const version = await docker('proxytainer', 'version', '--format', 'json');
    assert.equal((JSON.parse(version.stdout) as { version: string }).version, packageInfo.version);
  });

  it('docker -H unix:///nope.sock proxytainer status fails naming /nope.sock', async () => {
    const result = await docker('-H', 'unix:///nope.sock', 'proxytainer', 'status');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach Docker at unix:\/\/\/nope\.sock/);
  });

  it('a docker context is followed in every way the docker CLI takes it, as a plugin and standalone', async () => {
    const name = uniqueName('ctx');
    const created = await docker('context', 'create', name, '--docker', `host=${relay.url}`);
    assert.equal(created.code, 0, created.stderr);
    const status = async (command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<StatusDocument['docker']> => {
      const before = relay.accepted;
      const result = await run(command, [...args, '--format', 'json', '--control-socket', join(tmpdir(), 'nobody.sock')], { ...env, ...extraEnv });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.ok(relay.accepted > before, `${args.join(' ')} reached the context's endpoint`);
      return (JSON.parse(result.stdout) as StatusDocument).docker;
    };
    const viaRelay = { endpoint: relay.url, chosenBy: `--context ${name}` };
    assert.deepEqual(await status('docker', ['--context', name, 'proxytainer', 'status']), viaRelay);
    assert.deepEqual(await status('docker', [`--context=${name}`, 'proxytainer', 'status']), viaRelay);
    assert.deepEqual(await status('docker', [`-c${name}`, '-D', 'proxytainer', 'status']), viaRelay);
    assert.deepEqual(await status('docker', ['proxytainer', 'status'], { DOCKER_CONTEXT: name }), { endpoint: relay.url, chosenBy: 'DOCKER_CONTEXT' });
    assert.deepEqual(await status(BIN, ['--context', name, 'status']), viaRelay);
    assert.deepEqual(await status(BIN, ['status', '-H', relay.url]), { endpoint: relay.url, chosenBy: '-H' });
    assert.equal((await docker('context', 'use', name)).code, 0);
    try {
      const current = await status('docker', ['proxytainer', 'status']);
      assert.ok(current !== null);
      assert.equal(current.endpoint, relay.url);
      assert.match(current.chosenBy, /^currentContext in /);
    } finally {
      await docker('context', 'use', 'default');
    }
    const conflicting = await run(BIN, ['-H', relay.url, '--context', name, 'status'], env);
    assert.equal(conflicting.code, 2);
    assert.match(conflicting.stderr, /conflicting options: cannot specify both --host and --context/);
    const unknown = await docker('--context', 'no-such-context', 'proxytainer', 'status');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Docker context "no-such-context" \(from --context no-such-context\) does not exist/);
  });

  it('when the docker CLI is told to stop and stdout is not a terminal, the plugin shuts down cleanly', async () => {
    const group = uniqueName('pluginrun');
    const [port, upstream] = [await freePort(), await freePort()];
    await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
    const child = spawn('docker', ['proxytainer', 'run', '--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group], {
      env: { ...process.env, ...env, PROXYTAINER_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // a group of its own: the finally below takes the plugin with the CLI
    });
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const deadline = Date.now() + 15_000;
      while (!log.includes('listening on')) {
        if (Date.now() > deadline) throw new Error(`the plugin did not start:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await echoThrough(port, Buffer.from('through the plugin'))).toString(), 'through the plugin');
      const stopped = Date.now();
      child.kill('SIGTERM');
      const timeout = new Promise<string>((resolve) => {
        setTimeout(() => {
          resolve('still running after 10s');
        }, 10_000).unref();
      });
      assert.equal(await Promise.race([exited, timeout]), 0, log);
      assert.ok(Date.now() - stopped < 5_000, `stopped after ${Date.now() - stopped}ms`);
      assert.match(log, /the docker CLI asked the plugin to stop \(its socket closed\): shutting down/);
      assert.match(log, /INFO {2}stopped/);
    } finally {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('plugin uninstall removes it, and docker no longer knows the command', async () => {
    const removed = await run(BIN, ['plugin', 'uninstall'], env, '/');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(join(config, 'cli-plugins', 'docker-proxytainer')), false);
    const gone = await docker('proxytainer', 'status');
    assert.notEqual(gone.code, 0);
  });

  it('plugin install --dir puts it where asked, and refuses to overwrite what is not its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxytainer-plugins-'));
    try {
      const installed = await run(BIN, ['plugin', 'install', '--dir', dir], {});
      assert.equal(installed.code, 0, installed.stderr);
      assert.ok(lstatSync(join(dir, 'docker-proxytainer')).isSymbolicLink());
      rmSync(join(dir, 'docker-proxytainer'));
      await run('sh', ['-c', `echo '#!/bin/sh' > ${join(dir, 'docker-proxytainer')}`], {});
      const refused = await run(BIN, ['plugin', 'install', '--dir', dir], {});
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /exists and was not installed by proxytainer; remove it first/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
