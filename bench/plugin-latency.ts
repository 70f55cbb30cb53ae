/**
 * How fast proxytainer answers the docker CLI: the metadata call (made for
 * every `docker --help` and before every `docker proxytainer …`) and a whole
 * `docker proxytainer --help`, next to their floors: an empty `node` and
 * `docker --help` itself.
 *
 *   node --import tsx bench/plugin-latency.ts [--rounds 20]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/support/docker-harness.js';
import { median } from './stats.js';

function time(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${String(result.status)}`);
  return performance.now() - started;
}

export interface PluginLatency {
  readonly name: string;
  readonly ms: number;
  readonly floorName: string;
  readonly floorMs: number;
}

export function measurePluginLatency(rounds: number): PluginLatency[] {
  const config = mkdtempSync(join(tmpdir(), 'proxytainer-bench-config-'));
  const env = { DOCKER_CONFIG: config };
  try {
    time(join(ROOT, 'bin', 'proxytainer'), ['plugin', 'install'], env);
    const samples: Record<string, number[]> = { metadata: [], node: [], pluginHelp: [], dockerHelp: [] };
    for (let round = 0; round < rounds; round++) {
      samples['node']?.push(time(process.execPath, ['-e', ''], env));
      samples['metadata']?.push(time(join(ROOT, 'bin', 'docker-proxytainer'), ['docker-cli-plugin-metadata'], env));
      samples['dockerHelp']?.push(time('docker', ['--help'], env));
      samples['pluginHelp']?.push(time('docker', ['proxytainer', '--help'], env));
    }
    const m = (key: string): number => median(samples[key] ?? []);
    return [
      { name: 'docker-proxytainer docker-cli-plugin-metadata', ms: m('metadata'), floorName: 'node -e ""', floorMs: m('node') },
      { name: 'docker proxytainer --help', ms: m('pluginHelp'), floorName: 'docker --help', floorMs: m('dockerHelp') },
    ];
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 20;
  for (const row of measurePluginLatency(rounds)) {
    console.log(`${row.name.padEnd(48)} ${row.ms.toFixed(1).padStart(7)} ms   (${row.floorName}: ${row.floorMs.toFixed(1)} ms)   median of ${rounds}`);
  }
}
