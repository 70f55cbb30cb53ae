// The process entry. Kept light on purpose: the docker CLI runs
// `docker-proxytainer docker-cli-plugin-metadata` for every `docker --help`
// and `docker info`, so that answer must not wait for the whole CLI to load.
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  const { SchemaVersion, Vendor, ...rest } = read('plugin-metadata.json');
  process.stdout.write(`${JSON.stringify({ SchemaVersion, Vendor, Version: read('package.json')['version'], ...rest })}\n`);
} else {
  const { start } = await import('./start.js');
  process.exitCode = await start(argv, process.env);
}
