// The process entry. Kept light on purpose: the docker CLI runs
// `docker-proxytainer docker-cli-plugin-metadata` for every `docker --help`
// and `docker info`, so that answer must not wait for the whole CLI to load.
// It answers on any Node.js, so that docker still lists the plugin on an old
// one and `docker proxytainer …` reaches the message below. No top-level
// await: this file must load on an old Node.js far enough to say it is old.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unsupportedNode } from './node-support.js';

const argv = process.argv.slice(2);
const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(`${root}/${file}`, 'utf8')) as Record<string, unknown>;

if (argv[0] === 'docker-cli-plugin-metadata') {
  const { SchemaVersion, Vendor, ...rest } = read('plugin-metadata.json');
  process.stdout.write(`${JSON.stringify({ SchemaVersion, Vendor, Version: read('package.json')['version'], ...rest })}\n`);
} else {
  const checkout = existsSync(`${root}/scripts/node.sh`) ? { root, hasOwnNode: existsSync(`${root}/.node/bin/node`) } : undefined;
  const tooOld = unsupportedNode(process.versions.node, process.execPath, checkout);
  if (tooOld === undefined) {
    void import('./start.js').then(async ({ start }) => {
      process.exitCode = await start(argv, process.env);
    });
  } else {
    process.stderr.write(`${tooOld}\n`);
    process.exitCode = 1;
  }
}
