/**
 * What --metrics costs the warm path: two proxytainers in front of the same
 * upstreams, one with metrics off and one with them on (scraped every second,
 * far more often than Prometheus's usual 15 s), measured in alternating rounds
 * with wrk (HTTP, keep-alive and a new connection per request) and iperf3
 * (one stream each way). Counting bytes for the metrics must cost nothing:
 * they are read at scrape time from counters the proxy keeps anyway.
 */
import type Docker from 'dockerode';
import { createMember, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { startProxytainer } from './contenders.js';
import { findExecutable, runToEnd, Spawned, waitListening } from './processes.js';
import { emptySection, errorText, progress, type SectionResult } from './report.js';
import { parseWrk, startHttpUpstream } from './short-connections.js';
import { fixed, median, ratio, samples } from './stats.js';

export interface MetricsCostOptions {
  readonly rounds: number;
  /** Seconds per run. */
  readonly seconds: number;
}

interface Setting {
  readonly name: 'off' | 'on';
  readonly httpPort: number;
  readonly tcpPort: number;
  /** The metrics URL, when on. */
  readonly metrics: string | null;
}

interface Measure {
  readonly label: string;
  readonly unit: string;
  run(setting: Setting): Promise<number>;
}

async function iperf(iperf3: string, port: number, seconds: number, args: readonly string[]): Promise<number> {
  const out = await runToEnd('iperf3', iperf3, ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J', ...args], seconds * 1000 + 20_000);
  const bps = (JSON.parse(out.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second;
  if (bps === undefined || out.code !== 0) throw new Error(`iperf3 exited ${String(out.code)}: ${out.stderr.trim().slice(0, 300)}`);
  return bps / 1e9;
}

/** Scrapes `url` every second until stopped; resolves with how many scrapes answered. */
function scrapeEverySecond(url: string): { stop: () => Promise<number> } {
  let scrapes = 0;
  const state = { stopped: false };
  const loop = (async () => {
    while (!state.stopped) {
      const response = await fetch(url).catch(() => null);
      if (response?.ok === true) {
        await response.text();
        scrapes++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    stop: async () => {
      state.stopped = true;
      await loop;
      return scrapes;
    },
  };
}

export async function measureMetricsCost(options: MetricsCostOptions): Promise<SectionResult> {
  const result = emptySection();
  const wrk = findExecutable('wrk');
  const iperf3 = findExecutable('iperf3');
  const haproxy = findExecutable('haproxy', ['/usr/sbin/haproxy']);
  if (wrk === null || iperf3 === null || haproxy === null) {
    result.problems.push('metrics cost: wrk, iperf3 and haproxy are needed (bash scripts/bench-tools.sh installs them)');
    return result;
  }
  const owned: Spawned[] = [];
  let container: Docker.Container | null = null;
  try {
    const http = await startHttpUpstream(haproxy);
    owned.push(http.process);
    const iperfPort = await freePort();
    const iperfServer = new Spawned('iperf3 -s', iperf3, ['-s', '-p', String(iperfPort)]);
    owned.push(iperfServer);
    await waitListening(iperfPort, iperfServer);
    const group = uniqueName('bench-metrics');
    container = await createMember({ group, cmd: ['sleep', '86400'] });
    await container.start();

    /** A warm proxytainer in front of `upstream`, with metrics on its own port or off. */
    const proxy = async (label: string, upstream: number, metricsPort: number | null): Promise<number> => {
      const port = await freePort();
      const args = ['--port', String(port), '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1'];
      if (metricsPort !== null) args.push('--metrics', `127.0.0.1:${metricsPort}`);
      const started = await startProxytainer(label, args);
      owned.push(started);
      await started.waitFor(/State change \(\w+ => Running\)/, 15_000);
      return port;
    };
    const settings: Setting[] = [];
    for (const name of ['off', 'on'] as const) {
      // Two proxies per setting, one per upstream; with metrics on, the HTTP one is the one scraped.
      const metricsPort = name === 'on' ? await freePort() : null;
      const httpPort = await proxy(`proxytainer (metrics ${name}, HTTP)`, http.port, metricsPort);
      const tcpPort = await proxy(`proxytainer (metrics ${name}, iperf3)`, iperfPort, name === 'on' ? await freePort() : null);
      settings.push({ name, httpPort, tcpPort, metrics: metricsPort === null ? null : `http://127.0.0.1:${metricsPort}/metrics` });
    }

    const measures: Measure[] = [
      { label: 'HTTP keep-alive', unit: 'req/s', run: async (s) => parseWrk((await runToEnd('wrk', wrk, ['-t', '1', '-c', '16', '-d', `${options.seconds}s`, '--latency', `http://127.0.0.1:${s.httpPort}/`], options.seconds * 1000 + 20_000)).stdout).requestsPerSecond },
      { label: 'HTTP, a new connection per request', unit: 'req/s', run: async (s) => parseWrk((await runToEnd('wrk', wrk, ['-t', '1', '-c', '16', '-d', `${options.seconds}s`, '--latency', '-H', 'Connection: close', `http://127.0.0.1:${s.httpPort}/`], options.seconds * 1000 + 20_000)).stdout).requestsPerSecond },
      { label: 'throughput, 1 stream, client→server', unit: 'Gbit/s', run: (s) => iperf(iperf3, s.tcpPort, options.seconds, []) },
      { label: 'throughput, 1 stream, server→client', unit: 'Gbit/s', run: (s) => iperf(iperf3, s.tcpPort, options.seconds, ['-R']) },
    ];
    const got = new Map<string, number[]>();
    let scrapes = 0;
    for (let round = 0; round < options.rounds; round++) {
      for (const measure of measures) {
        const order = round % 2 === 0 ? settings : [...settings].reverse();
        for (const setting of order) {
          const scraper = setting.metrics === null ? null : scrapeEverySecond(setting.metrics);
          try {
            const value = await measure.run(setting);
            got.set(`${measure.label}|${setting.name}`, [...(got.get(`${measure.label}|${setting.name}`) ?? []), value]);
          } catch (error) {
            result.problems.push(`metrics cost: ${measure.label}, metrics ${setting.name}: ${errorText(error)}`);
          } finally {
            scrapes += (await scraper?.stop()) ?? 0;
          }
        }
      }
      progress('metrics cost', `round ${round + 1}/${options.rounds} done`);
    }
    for (const measure of measures) {
      const off = got.get(`${measure.label}|off`) ?? [];
      const on = got.get(`${measure.label}|on`) ?? [];
      if (off.length === 0 || on.length === 0) continue;
      const digits = measure.unit === 'req/s' ? 0 : 2;
      progress('metrics cost', `${measure.label}: off ${samples(off, digits)}; on ${samples(on, digits)}`);
      result.rows.push({
        measure: `metrics off / on: ${measure.label} (${measure.unit})`,
        values: { proxytainer: `${fixed(median(off), digits)} / ${fixed(median(on), digits)}` },
        ratio: `on/off ${ratio(median(on), median(off))}`,
        target: 'within noise',
      });
    }
    result.notes.push(
      `metrics cost: medians of ${options.rounds} rounds, metrics off and on alternating which goes first; with metrics on, /metrics was scraped every second during the runs (${scrapes} scrapes). wrk -t 1 -c 16 -d ${options.seconds}s against a haproxy answering 200 itself; iperf3 -t ${options.seconds}.`,
    );
  } catch (error) {
    result.problems.push(`metrics cost: ${errorText(error)}`);
  } finally {
    await Promise.all(owned.map((p) => p.stop()));
    await container?.remove({ force: true }).catch(() => undefined);
  }
  return result;
}
