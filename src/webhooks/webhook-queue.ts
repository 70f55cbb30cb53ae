import { type Clock, sleep, type Timer } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** POSTs `body` to the URL; resolves with the HTTP status, rejects on a network error or abort. */
export type Send = (body: string, signal: AbortSignal) => Promise<number>;

export interface WebhookQueueOptions {
  /** Most changes waiting for this URL; past that, new ones are dropped. */
  readonly capacity: number;
  /** How long one request may take. */
  readonly timeoutMs: number;
  /** Attempts after the first, for 5xx, 429, network errors and timeouts. */
  readonly retries: number;
  /** The first retry's delay; each next one doubles, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: WebhookQueueOptions = { capacity: 1000, timeoutMs: 5000, retries: 5, backoffMs: 1000, maxBackoffMs: 30_000 };

/** Log lines about drops and failures at most this often per URL. */
const LOG_INTERVAL_MS = 10_000;

class Timeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${formatDuration(ms)}`);
  }
}

/**
 * One webhook URL's deliveries: a bounded FIFO, one request at a time (so
 * changes arrive in order), a timeout per request, retries with backoff. It
 * never makes the proxy wait: `push` only queues, and a full queue drops the
 * change, counts it and says so in the log (at most every 10 s).
 */
export class WebhookQueue {
  delivered = 0;
  failed = 0;
  dropped = 0;
  private readonly pending: string[] = [];
  private running = false;
  private readonly lifetime = new AbortController();
  private idle: (() => void)[] = [];
  private droppedSinceLog = 0;
  private failedSinceLog = 0;
  private lastLog = -Infinity;
  private logTimer: Timer | null = null;
  private lastError = '';

  constructor(
    /** The URL as logs show it (no credentials, no query). */
    readonly name: string,
    private readonly send: Send,
    private readonly options: WebhookQueueOptions,
    private readonly deps: { readonly clock: Clock; readonly logger: Logger },
  ) {}

  /** Changes waiting, the one being sent included. */
  get length(): number {
    return this.pending.length;
  }

  push(body: string): void {
    if (this.lifetime.signal.aborted) return;
    if (this.pending.length >= this.options.capacity) {
      this.dropped++;
      this.droppedSinceLog++;
      this.logNow();
      return;
    }
    this.pending.push(body);
    if (!this.running) void this.drain();
  }

  /** Resolves once every change queued so far was delivered or given up on. */
  flushed(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops: the request in flight is aborted, what waits is dropped. */
  close(): void {
    this.lifetime.abort(new Error('proxytainer is shutting down'));
    this.pending.length = 0;
    this.logTimer?.cancel();
  }

  private closed(): boolean {
    return this.lifetime.signal.aborted;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let body = this.pending[0]; body !== undefined && !this.closed(); body = this.pending[0]) {
        const ok = await this.deliver(body);
        this.pending.shift();
        if (ok) this.delivered++;
        else if (!this.closed()) {
          this.failed++;
          this.failedSinceLog++;
          this.logNow();
        }
      }
    } finally {
      this.running = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Sends one change, retrying what may pass later; false when it was given up on. */
  private async deliver(body: string): Promise<boolean> {
    const { retries, backoffMs, maxBackoffMs } = this.options;
    for (let attempt = 0; ; attempt++) {
      const retry = await this.attempt(body);
      if (retry === null) return true;
      this.lastError = retry.error;
      if (!retry.again || attempt >= retries || this.lifetime.signal.aborted) return false;
      const delay = Math.min(maxBackoffMs, backoffMs * 2 ** attempt);
      this.deps.logger.debug(`webhook ${this.name}: ${retry.error}; retrying in ${formatDuration(delay)}`);
      try {
        await sleep(this.deps.clock, delay, this.lifetime.signal);
      } catch {
        return false;
      }
    }
  }

  /** null: delivered; else what went wrong and whether trying again may help. */
  private async attempt(body: string): Promise<{ error: string; again: boolean } | null> {
    const timeout = new AbortController();
    const timer = this.deps.clock.setTimer(this.options.timeoutMs, () => {
      timeout.abort(new Timeout(this.options.timeoutMs));
    });
    try {
      const status = await this.send(body, AbortSignal.any([timeout.signal, this.lifetime.signal]));
      if (status >= 200 && status < 300) return null;
      if (status >= 300 && status < 400) return { error: `answered ${status}, a redirect; give the final URL`, again: false };
      return { error: `answered ${status}`, again: status >= 500 || status === 429 };
    } catch (error) {
      const reason = timeout.signal.aborted ? describeError(timeout.signal.reason) : describeError(error instanceof Error && error.cause !== undefined ? error.cause : error);
      return { error: reason, again: true };
    } finally {
      timer.cancel();
    }
  }

  /** Logs drops and failures now, or once the interval since the last such line has passed. */
  private logNow(): void {
    const now = this.deps.clock.now();
    const wait = this.lastLog + LOG_INTERVAL_MS - now;
    if (wait > 0) {
      this.logTimer ??= this.deps.clock.setTimer(wait, () => {
        this.logTimer = null;
        if (!this.lifetime.signal.aborted) this.logNow();
      });
      return;
    }
    this.lastLog = now;
    if (this.droppedSinceLog > 0) {
      this.deps.logger.warn(`webhook ${this.name}: dropped ${this.droppedSinceLog} state change(s): ${this.options.capacity} are already waiting (is the receiver down or slow?)`);
    }
    if (this.failedSinceLog > 0) {
      this.deps.logger.warn(`webhook ${this.name}: gave up on ${this.failedSinceLog} state change(s) after ${this.options.retries + 1} attempts; last: ${this.lastError}`);
    }
    this.droppedSinceLog = 0;
    this.failedSinceLog = 0;
  }
}
