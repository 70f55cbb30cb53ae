import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OLDEST_NODE, unsupportedNode } from '../../src/cli/node-support.js';
import { ROOT } from '../support/docker-harness.js';
import { runCommand } from '../support/run-command.js';

/** The first `node` on PATH older than the project needs (this machine's own, where it is older), if any. */
function findOlderNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, 'node');
    try {
      accessSync(path, constants.X_OK);
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (unsupportedNode(version, path, undefined) !== undefined) return { path, version };
    } catch {
      // not there, or not a node
    }
  }
  return undefined;
}

const olderNode = findOlderNode();
const noOlderNode = olderNode === undefined ? `no node older than ${OLDEST_NODE} on PATH to try` : false;
const ownNode = join(ROOT, '.node', 'bin', 'node');
const made: string[] = [];

/** A directory for PATH holding only what the bin scripts use besides node (sh runs from the shebang), and `node` when given. */
function pathWith(node: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxytainer-path-'));
  made.push(dir);
  for (const tool of ['readlink', 'dirname']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(dir, tool));
  if (node !== undefined) symlinkSync(node, join(dir, 'node'));
  return dir;
}

/** A checkout without .node: the bin scripts copied, the built CLI and the rest linked. */
function checkoutWithoutOwnNode(): string {
  const root = mkdtempSync(join(tmpdir(), 'proxytainer-checkout-'));
  made.push(root);
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'scripts'));
  for (const bin of ['proxytainer', 'docker-proxytainer']) copyFileSync(join(ROOT, 'bin', bin), join(root, 'bin', bin));
  for (const file of ['dist', 'package.json', 'plugin-metadata.json', 'scripts/node.sh']) symlinkSync(join(ROOT, file), join(root, file));
  return root;
}

const run = (command: string, args: readonly string[], path: string) => runCommand(command, args, { env: { PATH: path, NO_COLOR: '1' } });
const nodeOf = (stdout: string): string => (JSON.parse(stdout) as { node: string }).node;

describe('the Node.js the bin scripts run on', () => {
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('bin/docker-proxytainer is bin/proxytainer under the name the docker CLI looks for', () => {
    assert.equal(readFileSync(join(ROOT, 'bin', 'docker-proxytainer'), 'utf8'), readFileSync(join(ROOT, 'bin', 'proxytainer'), 'utf8'));
  });

  it("the checkout's own .node, even with an older node first on PATH", { skip: existsSync(ownNode) ? noOlderNode : 'no .node in this checkout' }, async () => {
    const own = execFileSync(ownNode, ['--version'], { encoding: 'utf8' }).trim();
    for (const bin of ['proxytainer', 'docker-proxytainer']) {
      const result = await run(join(ROOT, 'bin', bin), ['version', '--format', 'json'], pathWith(olderNode?.path));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(nodeOf(result.stdout), own);
    }
  });

  it('without .node, the node on PATH when it is new enough', async () => {
    const root = checkoutWithoutOwnNode();
    for (const bin of ['proxytainer', 'docker-proxytainer']) {
      const result = await run(join(root, 'bin', bin), ['version', '--format', 'json'], pathWith(process.execPath));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(nodeOf(result.stdout), process.version);
    }
  });

  it('without .node and with an older node: one line naming it, the version needed and the fix; exit 1', { skip: noOlderNode }, async () => {
    const root = checkoutWithoutOwnNode();
    const path = pathWith(olderNode?.path);
    for (const bin of ['proxytainer', 'docker-proxytainer']) {
      const result = await run(join(root, 'bin', bin), ['status'], path);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.equal(
        result.stderr,
        `proxytainer: needs Node.js 22.12 or later, found ${join(path, 'node')} ${olderNode?.version}: run 'sh ${root}/scripts/node.sh' to bring Node.js 24 into ${root}/.node (the machine's node stays as it is), or install Node.js 24 from https://nodejs.org\n`,
      );
    }
  });

  it("the docker CLI's metadata call still answers on an older node, so that `docker proxytainer` shows that line", { skip: noOlderNode }, async () => {
    const result = await run(join(checkoutWithoutOwnNode(), 'bin', 'docker-proxytainer'), ['docker-cli-plugin-metadata'], pathWith(olderNode?.path));
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { Vendor: string }).Vendor, 'proxytainer');
  });

  it('without any node: one line saying so, with the fix; exit 1, the metadata call included', async () => {
    const root = checkoutWithoutOwnNode();
    for (const args of [['status'], ['docker-cli-plugin-metadata']]) {
      const result = await run(join(root, 'bin', 'docker-proxytainer'), args, pathWith(undefined));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^proxytainer: needs Node\.js 22\.12 or later, found no node on PATH: run 'sh .*\/scripts\/node\.sh' to bring Node\.js 24 into .*\/\.node .*\n$/);
    }
  });

  it('dist/cli/entry.js run by hand on an older node: the line, exit 1, before the CLI loads', { skip: noOlderNode }, async () => {
    const result = await run(olderNode?.path ?? 'node', [join(ROOT, 'dist', 'cli', 'entry.js'), 'run', '--port', '1'], pathWith(undefined));
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`^proxytainer: needs Node\\.js 22\\.12 or later, found ${olderNode?.path} ${olderNode?.version}: run [^\\n]+\\n$`));
  });
});
