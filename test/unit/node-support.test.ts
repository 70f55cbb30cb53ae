import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OLDEST_NODE, unsupportedNode } from '../../src/cli/node-support.js';

const checkout = { root: '/src/proxytainer', hasOwnNode: false };

describe('which Node.js proxytainer runs on', () => {
  it('is package.json "engines"', () => {
    const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines;
    assert.equal(engines.node, `>=${OLDEST_NODE}`);
  });

  for (const version of ['22.12.0', 'v22.12.0', '22.13.1', '23.0.0', '24.21.0', '26.1.0', '100.0.0']) {
    it(`runs on ${version}`, () => {
      assert.equal(unsupportedNode(version, '/usr/bin/node', checkout), undefined);
    });
  }
  for (const version of ['22.11.0', '22.9.0', '21.99.0', '20.20.2', '18.19.1', '12.22.9', 'v4.0.0']) {
    it(`refuses ${version}`, () => {
      assert.notEqual(unsupportedNode(version, '/usr/bin/node', checkout), undefined);
    });
  }

  it('says in one line what it found, what it needs, and how a checkout brings it', () => {
    assert.equal(
      unsupportedNode('20.20.2', '/usr/bin/node', checkout),
      "proxytainer: needs Node.js 22.12 or later, found /usr/bin/node v20.20.2: run 'sh /src/proxytainer/scripts/node.sh' to bring Node.js 24 into /src/proxytainer/.node (the machine's node stays as it is), or install Node.js 24 from https://nodejs.org",
    );
  });

  it('points to bin/proxytainer when the checkout already has its own node', () => {
    assert.equal(
      unsupportedNode('v20.20.2', '/usr/bin/node', { ...checkout, hasOwnNode: true }),
      "proxytainer: needs Node.js 22.12 or later, found /usr/bin/node v20.20.2: run /src/proxytainer/bin/proxytainer, which uses the checkout's own /src/proxytainer/.node/bin/node",
    );
  });

  it('outside a checkout, the fix is installing Node.js', () => {
    assert.equal(
      unsupportedNode('18.19.1', '/usr/bin/node', undefined),
      'proxytainer: needs Node.js 22.12 or later, found /usr/bin/node v18.19.1: install Node.js 24 from https://nodejs.org',
    );
  });

  it(`this test run itself is on one (npm's scripts run through scripts/node.sh): ${process.version} at ${process.execPath}`, () => {
    assert.equal(unsupportedNode(process.versions.node, process.execPath, undefined), undefined);
  });
});
