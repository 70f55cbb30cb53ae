/**
 * Discovery mode: time from `docker create` of a labelled container to its
 * listener accepting a connection, over several rounds.
 *
 *   node --import tsx bench/discovery-latency.ts [--rounds 10]
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMember, removeTestObjects, uniqueName } from '../test/support/docker-harness.js';
import { freePort, openSocket } from '../test/support/net.js';
import { ProxyProcess } from '../test/support/proxy-process.js';
import { median, percentile } from './stats.js';

/** Connects and resets at once, so the probe itself is forgotten by the proxy. */
async function accepts(port: number): Promise<boolean> {
  try {
    (await openSocket(port)).resetAndDestroy();
    return true;
  } catch {
    return false;
  }
}

export async function measureDiscoveryLatency(rounds: number): Promise<{ medianMs: number; p90Ms: number; rounds: number }> {
  const group = uniqueName('bench-discovery');
  const proxy = await ProxyProcess.start(['run', '--group', group, '--control-socket', join(tmpdir(), `${group}.sock`)], { ready: false, env: { PROXYTAINER_LOG: 'info' } });
  const samples: number[] = [];
  try {
    await proxy.waitFor(/no containers labelled proxytainer\.group yet/, 15_000);
    for (let round = 0; round < rounds; round++) {
      const port = await freePort();
      const started = performance.now();
      const container = await createMember({ group, cmd: ['sleep', '600'], labels: { 'proxytainer.port': String(port), 'proxytainer.upstream': '127.0.0.1:9' } });
      while (!(await accepts(port))) {
        if (performance.now() - started > 10_000) throw new Error(`no listener on ${port} after 10 s:\n${proxy.log}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      samples.push(performance.now() - started);
      await container.remove({ force: true });
      while (await accepts(port)) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await proxy.stop();
  }
  return { medianMs: median(samples), p90Ms: percentile(samples, 90), rounds };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 10;
  await removeTestObjects();
  try {
    const r = await measureDiscoveryLatency(rounds);
    console.log(`docker create of a labelled container → its listener accepting: median ${r.medianMs.toFixed(1)} ms, p90 ${r.p90Ms.toFixed(1)} ms (${r.rounds} rounds)`);
  } finally {
    await removeTestObjects();
  }
}
