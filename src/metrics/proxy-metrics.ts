import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GroupStateName } from '../core/group-machine.js';
import type { Group } from '../core/group.js';
import type { StateChange } from '../core/wake-history.js';
import { registerProcessMetrics } from './process-metrics.js';

const STATES: readonly GroupStateName[] = ['Idle', 'Starting', 'Running', 'Stopping'];

/**
 * Wake durations: a paused member unpauses in tens of milliseconds, a game
 * server starts in minutes; the buckets resolve both ends.
 */
export const WAKE_BUCKETS_SECONDS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 90, 120, 180, 300];

/** A webhook's delivery counts, as the webhook layer keeps them. */
export interface WebhookCounts {
  /** The URL without credentials or query (`https://hooks.example.com/proxytainer`). */
  readonly webhook: string;
  readonly delivered: number;
  /** Given up after its retries. */
  readonly failed: number;
  /** Dropped because the URL's queue was full. */
  readonly dropped: number;
}

/** What the group metrics are read from. */
export interface MetricsSources {
  /** The proxy's groups, read at every scrape. */
  readonly groups: () => readonly Group[];
  /** Every state change, with the wake it ends. */
  readonly onChange: (listener: (change: StateChange) => void) => () => void;
  /** Every group now and later, so each has its wake counters at zero from the start. */
  readonly onGroup: (observer: (group: Group) => void) => () => void;
  /** Webhook delivery counts, when webhooks are configured. */
  readonly webhooks?: () => readonly WebhookCounts[];
}

/**
 * proxytainer's Prometheus metrics. What the core already counts (bytes,
 * connections, states) is read from the groups' snapshots at scrape time, so
 * the hot path pays nothing for it; only wakes (rare) and backend calls are
 * counted as they happen.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly dockerRequests: Counter<'operation'>;
  private readonly unsubscribe: (() => void)[] = [];

  /** The process's own metrics and the Docker request counter; the groups' come with `observe`. */
  constructor(version: string) {
    const registers = [this.registry];
    new Gauge({
      name: 'proxytainer_build_info',
      help: 'The running proxytainer version; always 1.',
      labelNames: ['version'],
      registers,
      collect() {
        this.set({ version }, 1);
      },
    });
    this.dockerRequests = new Counter({
      name: 'proxytainer_docker_requests_total',
      help: 'Operations on the Docker engine, by kind (members: list and inspect a group; wake: start or unpause; sleep: stop or pause; list: labelled containers; address: inspect). The events stream is not counted.',
      labelNames: ['operation'],
      registers,
    });
    registerProcessMetrics(this.registry);
  }

  /** The groups' metrics, from the proxy's groups and their state changes. */
  observe(sources: MetricsSources): void {
    const registers = [this.registry];
    const snapshots = (): ReturnType<Group['snapshot']>[] => sources.groups().map((group) => group.snapshot());
    new Gauge({
      name: 'proxytainer_group_state',
      help: "The group's lifecycle state: 1 for the current one, 0 for the others.",
      labelNames: ['group', 'state'],
      registers,
      collect() {
        this.reset();
        for (const group of sources.groups()) for (const state of STATES) this.set({ group: group.name, state }, group.state === state ? 1 : 0);
      },
    });
    const wakes = new Counter({
      name: 'proxytainer_wakes_total',
      help: 'Wakes that ended, by result (ready, failed, or cancelled by a sleep); a wake counts once however many connections waited for it. A member that exits before the first connection got through fails a wake already counted ready. A start made outside proxytainer is not counted.',
      labelNames: ['group', 'result'],
      registers,
    });
    const durations = new Histogram({
      name: 'proxytainer_wake_duration_seconds',
      help: "Time from a wake's start to every member ready (wakes that became ready).",
      labelNames: ['group'],
      buckets: WAKE_BUCKETS_SECONDS,
      registers,
    });
    new Counter({
      name: 'proxytainer_connections_total',
      help: 'Client connections accepted for the group since the proxy started.',
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        for (const snapshot of snapshots()) this.inc({ group: snapshot.name }, snapshot.accepted);
      },
    });
    new Gauge({
      name: 'proxytainer_connections',
      help: 'Client connections now: held (waiting for a wake) or open (connecting to or spliced with the upstream).',
      labelNames: ['group', 'phase'],
      registers,
      collect() {
        this.reset();
        for (const snapshot of snapshots()) {
          this.set({ group: snapshot.name, phase: 'held' }, snapshot.held);
          this.set({ group: snapshot.name, phase: 'open' }, snapshot.open + Math.max(0, snapshot.connecting - snapshot.held));
        }
      },
    });
    new Counter({
      name: 'proxytainer_bytes_total',
      help: 'Bytes forwarded: in is client to upstream, out is upstream to client.',
      labelNames: ['group', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const snapshot of snapshots()) {
          this.inc({ group: snapshot.name, direction: 'in' }, snapshot.bytesIn);
          this.inc({ group: snapshot.name, direction: 'out' }, snapshot.bytesOut);
        }
      },
    });
    const { webhooks } = sources;
    if (webhooks !== undefined) {
      new Counter({
        name: 'proxytainer_webhook_deliveries_total',
        help: 'State changes sent to each webhook, by result: delivered, failed (after its retries), dropped (its queue was full).',
        labelNames: ['webhook', 'result'],
        registers,
        collect() {
          this.reset();
          for (const counts of webhooks()) {
            for (const result of ['delivered', 'failed', 'dropped'] as const) this.inc({ webhook: counts.webhook, result }, counts[result]);
          }
        },
      });
    }
    this.unsubscribe.push(
      sources.onGroup((group) => {
        for (const result of ['ready', 'failed'] as const) wakes.inc({ group: group.name, result }, 0);
        durations.zero({ group: group.name });
      }),
      sources.onChange(({ group, wake }) => {
        // A start made outside proxytainer (untimed) is no wake of ours: the state metric shows it.
        if (wake === null || wake.result === 'starting' || !wake.timed) return;
        wakes.inc({ group, result: wake.result });
        if (wake.result === 'ready' && wake.endedAt !== null) durations.observe({ group }, (wake.endedAt - wake.startedAt) / 1000);
      }),
    );
  }

  /** Counts a call to the Docker engine (see countingBackend). */
  countDockerRequest(operation: string): void {
    this.dockerRequests.inc({ operation });
  }

  /** The Prometheus text format (0.0.4). */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
