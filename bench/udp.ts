/**
 * UDP through the proxy: a closed loop of small datagrams (datagrams per
 * second, each way) and of large ones (Mbit/s each way), from 4 client
 * sockets to a Node echo server, direct, through proxytainer (static mode,
 * `--port P/udp`, its group already running) and through socat's UDP mode
 * (`UDP4-LISTEN,fork`: a process per client), in alternating rounds.
 * haproxy and systemd-socket-proxyd proxy no UDP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/docker-harness.js';
import { freeUdpPort } from '../test/support/udp.js';
import { type ContenderName, ensureWarmGroup, rotate, startProxytainer } from './contenders.js';
import { findExecutable, runToEnd, sleep, Spawned } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

export interface UdpOptions {
  readonly rounds: number;
  /** Seconds per run. */
  readonly seconds: number;
}

interface Config {
  readonly label: string;
  readonly size: number;
  readonly window: number;
  /** Which figure of a run the row shows. */
  readonly figure: 'perSecond' | 'mbitEachWay';
  readonly digits: number;
}

const CLIENTS = 4;
const CONFIGS: readonly Config[] = [
  { label: `UDP, 64-byte datagrams, ${CLIENTS} clients × 32 in flight: datagrams/s each way`, size: 64, window: 32, figure: 'perSecond', digits: 0 },
  { label: `UDP, 16 KiB datagrams, ${CLIENTS} clients × 8 in flight: Mbit/s each way`, size: 16 * 1024, window: 8, figure: 'mbitEachWay', digits: 0 },
];
const NAMES = ['direct', 'proxytainer', 'socat'] as const;
type UdpContender = (typeof NAMES)[number];

interface LoadResult {
  readonly roundTrips: number;
  readonly perSecond: number;
  readonly mbitEachWay: number;
  readonly lost: number;
  readonly truncated: number;
}

const tsx = ['--import', 'tsx'];

/** Whether a UDP socket is bound to `port` (from /proc/net/udp{,6}). */
function isUdpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      if (readFileSync(file, 'utf8').split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex) === true)) return true;
    } catch {
      // no IPv6 here
    }
  }
  return false;
}

async function waitBound(port: number, owner: Spawned): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!isUdpBound(port)) {
    if (!owner.alive) throw new Error(`${owner.name} exited before binding ${port}/udp:\n${owner.tail()}`);
    if (Date.now() > deadline) throw new Error(`${owner.name} did not bind ${port}/udp within 10s:\n${owner.tail()}`);
    await sleep(20);
  }
}

/** One closed-loop run against 127.0.0.1:`port`. */
async function load(port: number, config: Config, seconds: number): Promise<LoadResult> {
  const args = [...tsx, join(ROOT, 'bench', 'udp-load.ts'), String(port), String(CLIENTS), String(config.window), String(config.size), String(seconds)];
  const out = await runToEnd('udp-load', process.execPath, args, seconds * 1000 + 30_000, { cwd: ROOT });
  if (out.code !== 0) throw new Error(`the load generator exited ${String(out.code)}: ${out.stderr.trim().slice(0, 300)}`);
  const result = JSON.parse(out.stdout) as LoadResult;
  if (result.truncated > 0) throw new Error(`${result.truncated} replies came back cut short`);
  if (result.roundTrips === 0) throw new Error('no reply came back');
  return result;
}

export async function measureUdp(options: UdpOptions): Promise<SectionResult> {
  const result = emptySection();
  const socat = findExecutable('socat');
  const spawned: Spawned[] = [];
  try {
    const upstream = await freeUdpPort();
    const echo = new Spawned('udp-echo', process.execPath, [...tsx, join(ROOT, 'bench', 'udp-echo.ts'), String(upstream)], { cwd: ROOT });
    spawned.push(echo);
    await waitBound(upstream, echo);

    const ports = new Map<UdpContender, number>([['direct', upstream]]);
    const { group } = await ensureWarmGroup();
    const proxytainerPort = await freeUdpPort();
    const proxy = await startProxytainer('proxytainer', ['--port', `${proxytainerPort}/udp`, '--host', `127.0.0.1:${upstream}`, '--group', group, '--idle', '1h', '--bind', '127.0.0.1']);
    spawned.push(proxy);
    await proxy.waitFor(/State change \(\w+ => Running\)/, 15_000);
    ports.set('proxytainer', proxytainerPort);
    if (socat === null) {
      result.problems.push('udp: socat is not installed (bash scripts/bench-tools.sh installs it)');
    } else {
      const socatPort = await freeUdpPort();
      // -b 65536: socat's default 8 KiB buffer cuts every larger datagram short; -T 3: the process it forks per client ends 3s after its last datagram.
      const forwarder = new Spawned('socat', socat, ['-b', '65536', '-T', '3', `UDP4-LISTEN:${socatPort},bind=127.0.0.1,fork,reuseaddr`, `UDP4:127.0.0.1:${upstream}`]);
      spawned.push(forwarder);
      await waitBound(socatPort, forwarder);
      ports.set('socat', socatPort);
    }

    const got = new Map<string, number[]>();
    const failures = new Map<string, string[]>();
    const ready = NAMES.filter((name) => ports.has(name));
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, config] of CONFIGS.entries()) {
        for (const name of rotate(ready, round + i)) {
          const key = `${config.label}|${name}`;
          try {
            const run = await load(ports.get(name) ?? 0, config, options.seconds);
            got.set(key, [...(got.get(key) ?? []), run[config.figure]]);
            if (run.lost > 0) progress('udp', `${name}, ${config.label}: ${run.lost} lost of ${run.roundTrips + run.lost}`);
          } catch (error) {
            failures.set(key, [...(failures.get(key) ?? []), errorText(error)]);
            progress('udp', `${name}, ${config.label}: ${errorText(error)}`);
          }
        }
      }
      progress('udp', `round ${round + 1}/${options.rounds} done`);
    }
    for (const config of CONFIGS) {
      const values: Partial<Record<ContenderName, string>> = { haproxy: 'no UDP', 'systemd-socket-proxyd': 'no UDP' };
      const medians = new Map<UdpContender, number>();
      for (const name of NAMES) {
        const key = `${config.label}|${name}`;
        const runs = got.get(key) ?? [];
        const failed = failures.get(key) ?? [];
        if (!ports.has(name)) {
          values[name] = 'not run';
          continue;
        }
        if (runs.length === 0) {
          values[name] = 'failed';
          result.problems.push(`udp: every run of ${name} failed (${config.label}): ${failed[0] ?? ''}`);
          continue;
        }
        medians.set(name, median(runs));
        values[name] = fixed(median(runs), config.digits) + (failed.length > 0 ? ` (${failed.length} failed)` : '');
        progress('udp', `${config.label}, ${name}: ${samples(runs, config.digits)}`);
      }
      const pt = medians.get('proxytainer');
      const theirs = medians.get('socat');
      const met = pt === undefined || theirs === undefined ? verdict(null) : verdict(pt > theirs, `${ratio(pt, theirs)} socat`);
      result.rows.push({ measure: config.label, values, ratio: ratio(pt, medians.get('direct')), target: 'ahead of socat', met });
    }
    result.notes.push(
      `udp: a closed loop from ${CLIENTS} client sockets (bench/udp-load.ts; each keeps its window of datagrams in flight and sends the next on each reply) to a Node echo server (bench/udp-echo.ts), ${options.seconds} s per run after 0.3 s of warm-up, median of ${options.rounds} alternating rounds; every reply is checked to be whole. proxytainer in static mode (--port P/udp) with its group already running; socat -b 65536 UDP4-LISTEN:P,fork UDP4:… (its default 8 KiB buffer cuts larger datagrams short). Clients, echo server and proxy share the machine's cores; the echo server and the clients are Node too, so direct is a ceiling set by them.`,
    );
  } catch (error) {
    result.problems.push(`udp: ${errorText(error)}`);
  } finally {
    for (const proc of spawned.reverse()) await proc.stop();
  }
  return result;
}
