import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Proxy } from '../core/proxy.js';
import type { WakeHistory } from '../core/wake-history.js';
import { type MetricsAddress, MetricsServer } from '../metrics/metrics-server.js';
import type { ProxyMetrics } from '../metrics/proxy-metrics.js';
import { Webhooks } from '../webhooks/webhooks.js';

export interface ObservabilityOptions {
  readonly proxy: Proxy;
  readonly history: WakeHistory;
  /** Built before the proxy, so the backend it runs on can count its calls; null without --metrics. */
  readonly metrics: ProxyMetrics | null;
  readonly metricsAddress: MetricsAddress | undefined;
  /** --webhook, for every group. */
  readonly webhooks: readonly URL[];
  /** A group's own webhook (discovery mode's label). */
  readonly webhookFor: (group: string) => URL | undefined;
  readonly pid: number;
  readonly version: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** How long, at shutdown, queued webhook deliveries may still go out. */
const WEBHOOK_GRACE_MS = 2000;

/**
 * Metrics, the health endpoint and webhooks, composed over the proxy's
 * groups and their wake history. Returns the teardown. The webhooks are
 * always wired, so a group that gains a proxytainer.webhook label later is
 * heard without a restart.
 */
export async function startObservability(options: ObservabilityOptions): Promise<() => Promise<void>> {
  const { proxy, history, metrics, logger } = options;
  const webhooks = new Webhooks({
    urls: options.webhooks,
    urlFor: options.webhookFor,
    proxy: { pid: options.pid, version: options.version },
    clock: options.clock,
    logger: logger.child('webhook'),
  });
  const stopNotifying = history.onChange((change) => {
    webhooks.notify(change);
  });
  let server: MetricsServer | null = null;
  if (metrics !== null && options.metricsAddress !== undefined) {
    metrics.observe({
      groups: () => proxy.allGroups(),
      onChange: (listener) => history.onChange(listener),
      onGroup: (observer) => proxy.onGroup(observer),
      webhooks: () => webhooks.counts(),
    });
    try {
      server = await MetricsServer.start(
      options.metricsAddress,
      {
        render: () => metrics.render(),
        health: (name) => {
          const group = proxy.findGroup(name);
          return group === undefined ? undefined : { state: group.state, ...history.snapshot(group).health };
        },
        groups: () => proxy.allGroups().map((group) => group.name),
      },
      logger,
    );
    } catch (error) {
      metrics.close();
      stopNotifying();
      await webhooks.close(0);
      throw error;
    }
  }
  return async () => {
    await server?.close();
    metrics?.close();
    stopNotifying();
    await webhooks.close(WEBHOOK_GRACE_MS);
  };
}
