/**
 * A real client against a real server: `redis-benchmark -t set,get -c 50`
 * against Debian's redis-server in a container (host network), without and
 * with pipelining (-P 1, -P 16), direct and through proxytainer (static mode,
 * group already warm) and haproxy (tcp mode, its defaults), in alternating
 * rounds. Reports requests/s medians.
 */
import { containerState, eventually, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { createRedisMember, realServersProblem } from '../test/support/real-servers.js';
import { type Contender, type ContenderName, rotate, startAll, stopAllContenders } from './contenders.js';
import { findExecutable, runToEnd } from './processes.js';
import { emptySection, errorText, progress, type Row, type SectionResult, verdict } from './report.js';
import { fixed, median, ratio, samples } from './stats.js';

export interface RedisOptions {
  readonly rounds: number;
  /** Requests per redis-benchmark run without pipelining; -P 16 runs ten times as many. */
  readonly requests: number;
  readonly clients: number;
}

const PIPELINES = [1, 16] as const;
const TESTS = ['SET', 'GET'] as const;
const NAMES: readonly ContenderName[] = ['direct', 'proxytainer', 'haproxy'];

/** Requests per second for each test, from redis-benchmark's `--csv` output (`"SET","123.45",…`). */
export function parseRedisBenchmark(csv: string): Map<string, number> {
  const rates = new Map<string, number>();
  for (const line of csv.split('\n')) {
    const match = /^"([A-Z]+)","([\d.]+)"/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) rates.set(match[1], Number(match[2]));
  }
  for (const test of TESTS) if (!rates.has(test)) throw new Error(`redis-benchmark printed no ${test} figure: ${csv.trim().slice(0, 300)}`);
  return rates;
}

export async function measureRedis(options: RedisOptions): Promise<SectionResult> {
  const result = emptySection();
  const benchmark = findExecutable('redis-benchmark');
  const problem = realServersProblem(['redis']);
  if (problem !== null || benchmark === null) {
    result.problems.push(`redis: ${problem ?? 'redis-benchmark is not installed'}`);
    return result;
  }
  let contenders = new Map<ContenderName, Contender | Error>();
  try {
    const port = await freePort();
    const member = await createRedisMember({ group: uniqueName('bench-redis'), port });
    await member.start();
    await eventually(async () => (await containerState(member)).health === 'healthy', 30_000, 'the Redis member to be healthy');
    contenders = await startAll(port, NAMES);
    const ready: Contender[] = [];
    for (const [name, c] of contenders) {
      if (c instanceof Error) result.problems.push(`redis: ${name} did not start: ${c.message}`);
      else ready.push(c);
    }
    // key: `${pipeline}|${test}|${contender}` → requests/s of each round
    const got = new Map<string, number[]>();
    const failures = new Map<string, number>();
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, pipeline] of PIPELINES.entries()) {
        const requests = options.requests * (pipeline === 1 ? 1 : 10);
        for (const contender of rotate(ready, round + i)) {
          try {
            if (contender.process !== null && !contender.process.alive) throw new Error(`${contender.name} is no longer running (${contender.process.status}):\n${contender.process.tail()}`);
            const args = ['-h', '127.0.0.1', '-p', String(contender.port), '-t', 'set,get', '-c', String(options.clients), '-n', String(requests), '-P', String(pipeline), '--csv'];
            const out = await runToEnd('redis-benchmark', benchmark, args, 120_000);
            if (out.code !== 0) throw new Error(`redis-benchmark exited ${String(out.code)}: ${(out.stderr + out.stdout).trim().slice(0, 300)}`);
            for (const [test, rate] of parseRedisBenchmark(out.stdout)) {
              const key = `${pipeline}|${test}|${contender.name}`;
              got.set(key, [...(got.get(key) ?? []), rate]);
            }
          } catch (error) {
            const key = `${pipeline}|${contender.name}`;
            failures.set(key, (failures.get(key) ?? 0) + 1);
            progress('redis', `${contender.name}, -P ${pipeline}: ${errorText(error)}`);
          }
        }
      }
      progress('redis', `round ${round + 1}/${options.rounds} done`);
    }
    for (const pipeline of PIPELINES) {
      for (const test of TESTS) {
        const values: Partial<Record<ContenderName, string>> = {};
        const medians = new Map<ContenderName, number>();
        for (const name of NAMES) {
          const runs = got.get(`${pipeline}|${test}|${name}`) ?? [];
          const failed = failures.get(`${pipeline}|${name}`) ?? 0;
          if (runs.length > 0) medians.set(name, median(runs));
          values[name] = fixed(medians.get(name), 0) + (failed > 0 ? ` (${failed} failed)` : '');
          progress('redis', `-P ${pipeline} ${test}, ${name}: req/s ${samples(runs, 0)}`);
        }
        const pt = medians.get('proxytainer');
        const haproxy = medians.get('haproxy');
        const row: Row = {
          measure: `redis-benchmark ${test}, -c ${options.clients} -P ${pipeline}: requests/s`,
          values,
          ratio: ratio(pt, medians.get('direct')),
          target: 'ahead of haproxy',
          met: pt === undefined || haproxy === undefined ? verdict(null) : verdict(pt > haproxy, `${ratio(pt, haproxy)} haproxy`),
        };
        result.rows.push(row);
      }
    }
    const version = /v=(\S+)/.exec((await runToEnd('redis-server', 'redis-server', ['--version'], 5_000)).stdout)?.[1] ?? 'unknown';
    result.notes.push(
      `redis: redis-benchmark -t set,get -c ${options.clients} -n ${options.requests} -P 1 (-n ${options.requests * 10} with -P 16) --csv, on the host, against Debian's redis-server ${version} in a container (host network, persistence off); proxytainer in static mode with its group already running, haproxy in tcp mode with its defaults; median of ${options.rounds} alternating rounds. Client, server and proxy share the machine's cores.`,
    );
  } catch (error) {
    result.problems.push(`redis: ${errorText(error)}`);
  } finally {
    await stopAllContenders(contenders);
  }
  return result;
}
