import type { Catalog } from './catalog.js';
import type { Runtime } from './runtime.js';

/**
 * One backend, as the composition root hands it to the rest: the runtime
 * port (drive members), the catalog port (find them), and the feed of
 * changes behind both. src/cli is the one place that knows which backend it is.
 */
export interface Backend extends Runtime, Catalog {
  /** Starts following the backend's changes (Docker's events stream, say). */
  follow(): void;
  /** Stops following them. */
  close(): Promise<void>;
}
