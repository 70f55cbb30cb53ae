import { readFileSync } from 'node:fs';

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly homepage?: string;
}

/** package.json of the installed proxytainer (dist/cli/ → ../../package.json). */
export const packageInfo: PackageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson;
