// Imported first by entry.ts, before anything else of the CLI loads: keep it to
// syntax and APIs that any Node.js able to load an ES module has.

/** The oldest Node.js proxytainer runs on, as in package.json "engines". */
export const OLDEST_NODE = '22.12';

/** Where proxytainer runs from, when that is a checkout (its scripts/node.sh brings Node.js 24 into .node/). */
export interface Checkout {
  readonly root: string;
  /** True when .node/bin/node is already there. */
  readonly hasOwnNode: boolean;
}

/**
 * Why this Node.js cannot run proxytainer, as one line naming what was found,
 * what is needed and the fix, or undefined when it can.
 */
export function unsupportedNode(version: string, execPath: string, checkout: Checkout | undefined): string | undefined {
  const found = version.replace(/^v/, '');
  const [major = 0, minor = 0] = found.split('.').map(Number);
  const [oldestMajor = 0, oldestMinor = 0] = OLDEST_NODE.split('.').map(Number);
  if (major > oldestMajor || (major === oldestMajor && minor >= oldestMinor)) return undefined;
  const install = 'install Node.js 24 from https://nodejs.org';
  const fix =
    checkout === undefined
      ? install
      : checkout.hasOwnNode
        ? `run ${checkout.root}/bin/proxytainer, which uses the checkout's own ${checkout.root}/.node/bin/node`
        : `run 'sh ${checkout.root}/scripts/node.sh' to bring Node.js 24 into ${checkout.root}/.node (the machine's node stays as it is), or ${install}`;
  return `proxytainer: needs Node.js ${OLDEST_NODE} or later, found ${execPath} v${found}: ${fix}`;
}
