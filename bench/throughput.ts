/**
 * Warm throughput with iperf3: one stream and 8 parallel streams, both
 * directions, through every contender to the same `iperf3 -s`. Each round runs
 * every contender once per configuration, starting with a different one each
 * round, so drift on a noisy machine hits them all alike.
 */
import { freePort } from '../test/support/net.js';
import { type Contender, contenderCpuSeconds, type ContenderName, CONTENDERS, rotate, startAll, stopAllContenders } from './contenders.js';
import { findExecutable, runToEnd, Spawned, waitListening } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

export interface ThroughputOptions {
  readonly rounds: number;
  /** Seconds per iperf3 run. */
  readonly seconds: number;
}

interface Config {
  readonly label: string;
  readonly args: readonly string[];
  /** The single-stream targets apply. */
  readonly targeted: boolean;
}

const CONFIGS: readonly Config[] = [
  { label: 'warm throughput, 1 stream, client→server (Gbit/s)', args: [], targeted: true },
  { label: 'warm throughput, 1 stream, server→client (Gbit/s)', args: ['-R'], targeted: true },
  { label: 'warm throughput, 8 streams, client→server (Gbit/s)', args: ['-P', '8'], targeted: false },
  { label: 'warm throughput, 8 streams, server→client (Gbit/s)', args: ['-P', '8', '-R'], targeted: false },
];

/** The single-stream target (issue 10): at least this share of a direct connection's rate. */
const MIN_RATIO = 0.6;

interface IperfResult {
  readonly end?: { readonly sum_received?: { readonly bits_per_second?: number; readonly bytes?: number } };
  readonly error?: string;
}

/** One iperf3 client run: the receiver's rate in Gbit/s and the bytes it received. */
async function iperf(iperf3: string, port: number, seconds: number, args: readonly string[]): Promise<{ gbps: number; bytes: number }> {
  const out = await runToEnd('iperf3', iperf3, ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J', ...args], seconds * 1000 + 20_000);
  let parsed: IperfResult;
  try {
    parsed = JSON.parse(out.stdout) as IperfResult;
  } catch {
    throw new Error(`iperf3 exited ${String(out.code)} without a JSON report: ${out.stderr.trim().slice(0, 300)}`);
  }
  if (parsed.error !== undefined) throw new Error(`iperf3: ${parsed.error}`);
  const bps = parsed.end?.sum_received?.bits_per_second;
  const bytes = parsed.end?.sum_received?.bytes;
  if (bps === undefined || bytes === undefined || out.code !== 0) throw new Error(`iperf3 exited ${String(out.code)} with no received rate`);
  return { gbps: bps / 1e9, bytes };
}

export async function measureThroughput(options: ThroughputOptions): Promise<SectionResult> {
  const result = emptySection();
  const iperf3 = findExecutable('iperf3');
  if (iperf3 === null) {
    result.problems.push('throughput: iperf3 is not installed (bash scripts/bench-tools.sh installs it)');
    return result;
  }
  const upstreamPort = await freePort();
  let server = new Spawned('iperf3 -s', iperf3, ['-s', '-p', String(upstreamPort), '-B', '127.0.0.1']);
  const startServer = async (): Promise<void> => {
    if (!server.alive) server = new Spawned('iperf3 -s', iperf3, ['-s', '-p', String(upstreamPort), '-B', '127.0.0.1']);
    await waitListening(upstreamPort, server);
  };
  let contenders = new Map<ContenderName, Contender | Error>();
  try {
    await startServer();
    contenders = await startAll(upstreamPort);
    const ready: Contender[] = [];
    for (const [name, c] of contenders) {
      if (c instanceof Error) result.problems.push(`throughput: ${name} did not start: ${c.message}`);
      else ready.push(c);
    }
    const got = new Map<string, number[]>();
    /** CPU seconds of the proxy process per GB moved, per run. */
    const cpu = new Map<string, number[]>();
    const failures = new Map<string, string[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, config] of CONFIGS.entries()) {
        for (const contender of rotate(ready, round + i)) {
          const key = `${config.label}|${contender.name}`;
          try {
            if (contender.process !== null && !contender.process.alive) throw new Error(`${contender.name} is no longer running (${contender.process.status}):\n${contender.process.tail()}`);
            const cpuBefore = contenderCpuSeconds(contender);
            const { gbps, bytes } = await iperf(iperf3, contender.port, options.seconds, config.args);
            const cpuAfter = contenderCpuSeconds(contender);
            got.set(key, [...(got.get(key) ?? []), gbps]);
            if (cpuBefore !== null && cpuAfter !== null) cpu.set(key, [...(cpu.get(key) ?? []), (cpuAfter - cpuBefore) / (bytes / 1e9)]);
          } catch (error) {
            failures.set(key, [...(failures.get(key) ?? []), errorText(error)]);
            progress('throughput', `${contender.name}, ${config.label}: ${errorText(error)}`);
            // A failed client can leave iperf3 -s stuck on its test: start it afresh.
            await server.stop();
            await startServer();
          }
        }
      }
      progress('throughput', `round ${round + 1}/${options.rounds} done`);
    }
    for (const config of CONFIGS) {
      const medians = new Map<ContenderName, number>();
      const values: Partial<Record<ContenderName, string>> = {};
      const cpuValues: Partial<Record<ContenderName, string>> = {};
      const cpuMedians = new Map<ContenderName, number>();
      for (const name of CONTENDERS) {
        const key = `${config.label}|${name}`;
        const runs = got.get(key) ?? [];
        const failed = failures.get(key) ?? [];
        if (contenders.get(name) instanceof Error) {
          values[name] = 'failed to start';
          continue;
        }
        if (runs.length === 0) {
          values[name] = 'failed';
          result.problems.push(`throughput: every run of ${name} failed (${config.label}): ${failed[0] ?? ''}`);
          continue;
        }
        medians.set(name, median(runs));
        values[name] = fixed(median(runs), 2) + (failed.length > 0 ? ` (${failed.length} failed)` : '');
        const cpuRuns = cpu.get(key) ?? [];
        if (cpuRuns.length > 0) {
          cpuMedians.set(name, median(cpuRuns));
          cpuValues[name] = fixed(median(cpuRuns), 3);
        }
        progress('throughput', `${config.label}, ${name}: ${samples(runs, 2)}${cpuRuns.length > 0 ? `; CPU s/GB ${samples(cpuRuns, 3)}` : ''}`);
      }
      const pt = medians.get('proxytainer');
      const direct = medians.get('direct');
      let met = '-';
      if (config.targeted) {
        if (pt === undefined || direct === undefined) met = verdict(null);
        else {
          const misses: string[] = [];
          if (pt < MIN_RATIO * direct) misses.push(`${ratio(pt, direct)} of direct`);
          for (const other of ['haproxy', 'socat'] as const) {
            const theirs = medians.get(other);
            if (theirs !== undefined && pt <= theirs) misses.push(`behind ${other}`);
          }
          met = verdict(misses.length === 0, misses.join(', '));
        }
      }
      result.rows.push({
        measure: config.label,
        values,
        ratio: ratio(pt, direct),
        vsBar: ratio(pt, medians.get('systemd-socket-proxyd')),
        target: config.targeted ? `≥ ${MIN_RATIO.toFixed(2)}x direct, ahead of haproxy and socat` : '-',
        met,
      });
      result.rows.push({
        measure: `… CPU of the proxy process (s/GB)`,
        values: cpuValues,
        vsBar: ratio(cpuMedians.get('proxytainer'), cpuMedians.get('systemd-socket-proxyd')),
      });
    }
    result.notes.push(`throughput: iperf3 -t ${options.seconds} (-R for server→client, -P 8 for 8 streams), median of ${options.rounds} alternating rounds; the receiver's rate. CPU: user + system seconds of the proxy's process (and children) per GB received, from /proc.`);
  } catch (error) {
    result.problems.push(`throughput: ${errorText(error)}`);
  } finally {
    await stopAllContenders(contenders);
    await server.stop();
  }
  return result;
}
