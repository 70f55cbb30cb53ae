import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { redactUrl } from '../core/webhook-url.js';
import type { StateChange } from '../core/wake-history.js';
import { postJson } from './post-json.js';
import { webhookDocument, type WebhookDocument } from './webhook-document.js';
import { DEFAULT_QUEUE_OPTIONS, WebhookQueue, type WebhookQueueOptions } from './webhook-queue.js';

export interface WebhooksOptions {
  /** Every group's changes go here (`--webhook`, repeatable). */
  readonly urls: readonly URL[];
  /** A group's own webhook (the `proxytainer.webhook` label), read at each change. */
  readonly urlFor: (group: string) => URL | undefined;
  readonly proxy: WebhookDocument['proxy'];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly queue?: Partial<WebhookQueueOptions>;
  /** How a body is sent to a URL; tests may replace it. */
  readonly send?: (url: URL, body: string, signal: AbortSignal) => Promise<number>;
}

/**
 * Sends every state change as one JSON document to the webhooks that want it:
 * the global ones and the group's own. Each URL has its own queue, so a slow
 * or dead receiver holds up only itself, and changes reach each in order.
 */
export class Webhooks {
  private readonly queues = new Map<string, WebhookQueue>();
  private readonly send: (url: URL, body: string, signal: AbortSignal) => Promise<number>;
  private readonly queueOptions: WebhookQueueOptions;

  constructor(private readonly options: WebhooksOptions) {
    const userAgent = `proxytainer/${options.proxy.version}`;
    this.send = options.send ?? ((url, body, signal) => postJson(url.href, body, userAgent, signal));
    this.queueOptions = { ...DEFAULT_QUEUE_OPTIONS, ...options.queue };
  }

  /** Queues the change for each webhook that wants it; never waits. */
  notify(change: StateChange): void {
    if (change.from === change.to) return;
    const own = this.options.urlFor(change.group);
    const targets = own === undefined ? this.options.urls : [...this.options.urls, own];
    if (targets.length === 0) return;
    const body = JSON.stringify(webhookDocument(change, this.options.proxy, new Date()));
    const seen = new Set<string>();
    for (const url of targets) {
      if (seen.has(url.href)) continue;
      seen.add(url.href);
      this.queueFor(url).push(body);
    }
  }

  /** Delivery counts per URL, for the metrics. */
  counts(): { webhook: string; delivered: number; failed: number; dropped: number }[] {
    return [...this.queues.values()].map((queue) => ({ webhook: queue.name, delivered: queue.delivered, failed: queue.failed, dropped: queue.dropped }));
  }

  /** Waits up to `graceMs` for what is queued, then drops the rest. */
  async close(graceMs: number): Promise<void> {
    const queues = [...this.queues.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(queues.map((queue) => queue.flushed())), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const queue of queues) queue.close();
  }

  private queueFor(url: URL): WebhookQueue {
    let queue = this.queues.get(url.href);
    if (queue === undefined) {
      const { clock, logger } = this.options;
      queue = new WebhookQueue(redactUrl(url), (body, signal) => this.send(url, body, signal), this.queueOptions, { clock, logger });
      this.queues.set(url.href, queue);
    }
    return queue;
  }
}
