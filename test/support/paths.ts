import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, and the CLI as a user runs it. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'proxytainer');
