/**
 * `npm run bench`: every comparison in one run, each against a direct
 * connection, contenders alternating so drift hits them alike; ends with one
 * table of medians and ratios. Exits non-zero only when a section could not
 * run (a tool missing or failing to start, a measurement that broke), never
 * for a missed target.
 *
 *   node --import tsx bench/run.ts [--quick] [--only throughput,short,cold,hold,idle,redis,udp,metrics,swarm]
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { docker, removeTestObjects, ROOT } from '../test/support/docker-harness.js';
import { measureColdWakes } from './cold-wake.js';
import { missingTools, removeWorkDir } from './contenders.js';
import { measureHold } from './hold.js';
import { measureIdleCost } from './idle-cost.js';
import { measureMetricsCost } from './metrics-cost.js';
import { runToEnd, stopAll } from './processes.js';
import { measureRedis } from './redis.js';
import { errorText, formatTable, progress, type Row, type SectionResult } from './report.js';
import { measureShortConnections } from './short-connections.js';
import { measureSwarmWakes } from './swarm-wake.js';
import { measureThroughput } from './throughput.js';
import { measureUdp } from './udp.js';

const SECTIONS = ['cold', 'hold', 'throughput', 'short', 'idle', 'redis', 'udp', 'metrics', 'swarm'] as const;
type SectionName = (typeof SECTIONS)[number];

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<SectionName> } {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--only');
  const only = new Set<SectionName>(SECTIONS);
  if (at >= 0) {
    only.clear();
    for (const name of (argv[at + 1] ?? '').split(',')) {
      if (!(SECTIONS as readonly string[]).includes(name)) {
        process.stderr.write(`bench: --only takes a list of ${SECTIONS.join(', ')}\n`);
        process.exit(2);
      }
      only.add(name as SectionName);
    }
  }
  return { quick, only };
}

async function version(command: string, args: readonly string[], pattern: RegExp): Promise<string> {
  const out = await runToEnd(command, command, args, 5_000);
  return pattern.exec(out.stdout + out.stderr)?.[1] ?? 'missing';
}

async function machine(): Promise<string> {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const engine = await docker.version();
  const tools = [
    `iperf3 ${await version('iperf3', ['--version'], /iperf (\S+)/)}`,
    `wrk ${await version('wrk', ['--version'], /wrk (\S+)/)}`,
    `haproxy ${await version('haproxy', ['-v'], /version (\S+)/)}`,
    `socat ${await version('socat', ['-V'], /socat version (\S+)/)}`,
    `systemd ${await version('systemctl', ['--version'], /systemd (\d+)/)}`,
  ];
  return [
    `machine: ${cpuModel}, ${cpus().length} cores, Linux ${release()}`,
    `software: Docker ${engine.Version} (API ${engine.ApiVersion}), Node ${process.version}, ${tools.join(', ')}`,
  ].join('\n');
}

let cleaningUp: Promise<void> | null = null;

function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    await stopAll();
    await removeTestObjects().catch((error: unknown) => {
      process.stderr.write(`bench: could not remove its containers: ${errorText(error)}\n`);
    });
    removeWorkDir();
  })();
  return cleaningUp;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const began = performance.now();
  try {
    await docker.ping();
  } catch (error) {
    process.stderr.write(`bench: no Docker engine answers (${errorText(error)}); start one with: bash scripts/engine.sh\n`);
    return 1;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'entry.js'))) {
    process.stderr.write('bench: proxytainer is not built; run: npm run build\n');
    return 1;
  }
  const image = await runToEnd('build-test-images', 'bash', ['scripts/build-test-images.sh'], 300_000, { cwd: ROOT });
  if (image.code !== 0) {
    process.stderr.write(`bench: the test image could not be built: ${image.stderr}\n`);
    return 1;
  }
  const header = await machine();
  process.stderr.write(`${header}\n`);

  const results: SectionResult[] = [];
  const missing = missingTools();
  if (missing.size > 0) results.push({ rows: [], notes: [], problems: [...missing.values()] });
  const run = async (name: SectionName, label: string, body: () => Promise<SectionResult>): Promise<void> => {
    if (!only.has(name)) return;
    progress(label, 'starting');
    const t0 = performance.now();
    try {
      results.push(await body());
    } catch (error) {
      results.push({ rows: [], notes: [], problems: [`${label}: ${errorText(error)}`] });
    }
    progress(label, `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  try {
    await run('cold', 'cold wake', () => measureColdWakes(quick ? 2 : 10));
    await run('hold', 'hold', () => measureHold({ count: quick ? 1000 : 10_000, spreadMs: 1000 }));
    await run('throughput', 'throughput', () => measureThroughput({ rounds: quick ? 1 : 4, seconds: quick ? 1 : 2 }));
    await run('short', 'short connections', () => measureShortConnections({ rounds: quick ? 1 : 5, seconds: quick ? 1 : 2, connections: 16 }));
    await run('idle', 'idle', () => measureIdleCost({ groups: quick ? 10 : 100, windowSeconds: quick ? 5 : 60 }));
    await run('redis', 'redis', () => measureRedis({ rounds: quick ? 1 : 5, requests: quick ? 5_000 : 20_000, clients: 50 }));
    await run('udp', 'udp', () => measureUdp({ rounds: quick ? 1 : 5, seconds: quick ? 1 : 3 }));
    await run('metrics', 'metrics cost', () => measureMetricsCost({ rounds: quick ? 1 : 5, seconds: quick ? 1 : 2 }));
    await run('swarm', 'swarm wake', () => measureSwarmWakes(quick ? 2 : 10, quick ? 3 : 10));
  } finally {
    await cleanUp();
  }

  const rows: Row[] = results.flatMap((r) => r.rows);
  const notes = results.flatMap((r) => r.notes);
  const problems = results.flatMap((r) => r.problems);
  const lines = [
    '',
    header,
    `run: ${((performance.now() - began) / 1000).toFixed(0)} s${quick ? ' (--quick: fewer, shorter rounds; not for comparison)' : ''}`,
    '',
    formatTable(rows),
    '',
    ...notes.map((note) => `- ${note}`),
  ];
  if (problems.length > 0) lines.push('', 'BROKEN: these could not be measured:', ...problems.map((p) => `- ${p}`));
  process.stdout.write(`${lines.join('\n')}\n`);
  return problems.length > 0 ? 1 : 0;
}

process.exitCode = await main();
