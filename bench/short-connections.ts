/**
 * Short connections with wrk against one fast upstream (a haproxy answering
 * `200 ok` itself): requests per second and p50/p99 latency, with a new TCP
 * connection per request (`Connection: close`) and with keep-alive, direct and
 * through each proxy, in alternating rounds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../test/support/net.js';
import { type Contender, contenderCpuSeconds, type ContenderName, CONTENDERS, rotate, scratchDir, startAll, stopAllContenders } from './contenders.js';
import { findExecutable, runToEnd, Spawned, waitListening } from './processes.js';
import { emptySection, errorText, progress, type Row, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

export interface ShortConnectionOptions {
  readonly rounds: number;
  /** Seconds per wrk run. */
  readonly seconds: number;
  readonly connections: number;
}

interface Mode {
  readonly label: string;
  readonly args: readonly string[];
  /** Target for proxytainer's requests/s as a share of direct (issue 10). */
  readonly minRatio: number;
}

const MODES: readonly Mode[] = [
  { label: 'new connection per request', args: ['-H', 'Connection: close'], minRatio: 0.4 },
  { label: 'keep-alive', args: [], minRatio: 0.55 },
];

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly errors: number;
  /** CPU microseconds the proxy process spent per request, when there is a process in the middle. */
  readonly cpuUsPerRequest?: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case 'us':
      return n / 1000;
    case 'ms':
      return n;
    case 's':
      return n * 1000;
    case 'm':
      return n * 60_000;
    default:
      return NaN;
  }
}

/** Reads wrk's summary (run with --latency). */
export function parseWrk(text: string): WrkResult {
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const requests = /^\s+(\d+) requests in /m.exec(text);
  if (rate?.[1] === undefined || p50?.[1] === undefined || p50[2] === undefined || p99?.[1] === undefined || p99[2] === undefined || requests?.[1] === undefined) {
    throw new Error(`wrk printed no summary: ${text.trim().slice(0, 300)}`);
  }
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  // With Connection: close, wrk counts the server's orderly close after each answer as a read error; those are not failures.
  const errors = Number(socketErrors?.[1] ?? 0) + Number(socketErrors?.[3] ?? 0) + Number(socketErrors?.[4] ?? 0) + Number(non2xx?.[1] ?? 0);
  return { requestsPerSecond: Number(rate[1]), p50Ms: toMs(p50[1], p50[2]), p99Ms: toMs(p99[1], p99[2]), requests: Number(requests[1]), errors };
}

/** A haproxy answering `200 ok` itself on 127.0.0.1: the fastest HTTP upstream there is here. */
export async function startHttpUpstream(haproxy: string): Promise<{ port: number; process: Spawned }> {
  const port = await freePort();
  const config = join(scratchDir(), `haproxy-http-${port}.cfg`);
  writeFileSync(
    config,
    [
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend ok',
      `  bind 127.0.0.1:${port}`,
      '  http-request return status 200 content-type text/plain string ok',
      '',
    ].join('\n'),
  );
  const proc = new Spawned('haproxy (http upstream)', haproxy, ['-db', '-f', config]);
  try {
    await waitListening(port, proc);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { port, process: proc };
}

export async function measureShortConnections(options: ShortConnectionOptions): Promise<SectionResult> {
  const result = emptySection();
  const wrk = findExecutable('wrk');
  const haproxy = findExecutable('haproxy', ['/usr/sbin/haproxy']);
  if (wrk === null || haproxy === null) {
    result.problems.push(`short connections: ${wrk === null ? 'wrk' : 'haproxy'} is not installed (bash scripts/bench-tools.sh installs it)`);
    return result;
  }
  let upstream: { port: number; process: Spawned } | null = null;
  let contenders = new Map<ContenderName, Contender | Error>();
  try {
    upstream = await startHttpUpstream(haproxy);
    contenders = await startAll(upstream.port);
    const ready: Contender[] = [];
    for (const [name, c] of contenders) {
      if (c instanceof Error) result.problems.push(`short connections: ${name} did not start: ${c.message}`);
      else ready.push(c);
    }
    const got = new Map<string, WrkResult[]>();
    const failures = new Map<string, string[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, mode] of MODES.entries()) {
        for (const contender of rotate(ready, round + i)) {
          const key = `${mode.label}|${contender.name}`;
          try {
            if (contender.process !== null && !contender.process.alive) throw new Error(`${contender.name} is no longer running (${contender.process.status}):\n${contender.process.tail()}`);
            const args = ['-t', '1', '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency', ...mode.args, `http://127.0.0.1:${contender.port}/`];
            const cpuBefore = contenderCpuSeconds(contender);
            const out = await runToEnd('wrk', wrk, args, options.seconds * 1000 + 20_000);
            const cpuAfter = contenderCpuSeconds(contender);
            if (out.code !== 0) throw new Error(`wrk exited ${String(out.code)}: ${(out.stderr + out.stdout).trim().slice(0, 300)}`);
            const parsed = parseWrk(out.stdout);
            if (parsed.requests === 0) throw new Error('wrk completed no request');
            const run = cpuBefore === null || cpuAfter === null ? parsed : { ...parsed, cpuUsPerRequest: ((cpuAfter - cpuBefore) * 1e6) / parsed.requests };
            got.set(key, [...(got.get(key) ?? []), run]);
          } catch (error) {
            failures.set(key, [...(failures.get(key) ?? []), errorText(error)]);
            progress('short connections', `${contender.name}, ${mode.label}: ${errorText(error)}`);
          }
        }
      }
      progress('short connections', `round ${round + 1}/${options.rounds} done`);
    }
    for (const mode of MODES) {
      const rate: Partial<Record<ContenderName, string>> = {};
      const p50: Partial<Record<ContenderName, string>> = {};
      const p99: Partial<Record<ContenderName, string>> = {};
      const cpu: Partial<Record<ContenderName, string>> = {};
      const m = { rate: new Map<ContenderName, number>(), p50: new Map<ContenderName, number>(), p99: new Map<ContenderName, number>(), cpu: new Map<ContenderName, number>() };
      for (const name of CONTENDERS) {
        const key = `${mode.label}|${name}`;
        const runs = got.get(key) ?? [];
        const failed = failures.get(key) ?? [];
        if (contenders.get(name) instanceof Error) {
          rate[name] = 'failed to start';
          continue;
        }
        if (runs.length === 0) {
          rate[name] = 'failed';
          result.problems.push(`short connections: every run of ${name} failed (${mode.label}): ${failed[0] ?? ''}`);
          continue;
        }
        m.rate.set(name, median(runs.map((r) => r.requestsPerSecond)));
        m.p50.set(name, median(runs.map((r) => r.p50Ms)));
        m.p99.set(name, median(runs.map((r) => r.p99Ms)));
        const errors = runs.reduce((sum, r) => sum + r.errors, 0);
        const suffix = (failed.length > 0 ? ` (${failed.length} failed)` : '') + (errors > 0 ? ` (${errors} errors)` : '');
        rate[name] = fixed(m.rate.get(name), 0) + suffix;
        p50[name] = fixed(m.p50.get(name), 3);
        p99[name] = fixed(m.p99.get(name), 3);
        const cpuRuns = runs.flatMap((r) => (r.cpuUsPerRequest === undefined ? [] : [r.cpuUsPerRequest]));
        if (cpuRuns.length > 0) {
          m.cpu.set(name, median(cpuRuns));
          cpu[name] = fixed(median(cpuRuns), 1);
        }
        progress(
          'short connections',
          `${mode.label}, ${name}: req/s ${samples(runs.map((r) => r.requestsPerSecond), 0)}; p99 ms ${samples(runs.map((r) => r.p99Ms), 3)}` +
            (cpuRuns.length > 0 ? `; CPU µs/request ${samples(cpuRuns, 1)}` : ''),
        );
      }
      const pt = m.rate.get('proxytainer');
      const direct = m.rate.get('direct');
      const rows: Row[] = [
        {
          measure: `short connections, ${mode.label}: requests/s`,
          values: rate,
          ratio: ratio(pt, direct),
          vsBar: ratio(pt, m.rate.get('systemd-socket-proxyd')),
          target: `≥ ${mode.minRatio.toFixed(2)}x direct`,
          met: pt === undefined || direct === undefined ? verdict(null) : verdict(pt >= mode.minRatio * direct),
        },
        { measure: `short connections, ${mode.label}: CPU of the proxy process (µs/request)`, values: cpu, vsBar: ratio(m.cpu.get('proxytainer'), m.cpu.get('systemd-socket-proxyd')) },
        { measure: `short connections, ${mode.label}: p50 latency (ms)`, values: p50, ratio: ratio(m.p50.get('proxytainer'), m.p50.get('direct')), vsBar: ratio(m.p50.get('proxytainer'), m.p50.get('systemd-socket-proxyd')) },
        { measure: `short connections, ${mode.label}: p99 latency (ms)`, values: p99, ratio: ratio(m.p99.get('proxytainer'), m.p99.get('direct')), vsBar: ratio(m.p99.get('proxytainer'), m.p99.get('systemd-socket-proxyd')) },
      ];
      result.rows.push(...rows);
    }
    result.notes.push(
      `short connections: wrk -t 1 -c ${options.connections} -d ${options.seconds}s --latency (with -H 'Connection: close' for a new connection per request) against a haproxy answering 200 itself; median of ${options.rounds} alternating rounds. wrk's latency runs from the request's first byte, so it leaves out the client's own connect. CPU: user + system microseconds of the proxy's process (and children) per completed request, from /proc.`,
    );
  } catch (error) {
    result.problems.push(`short connections: ${errorText(error)}`);
  } finally {
    await stopAllContenders(contenders);
    await upstream?.process.stop();
  }
  return result;
}
