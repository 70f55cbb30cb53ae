/**
 * Hold at scale: 10,000 connections opened within about a second against a
 * group whose member is stopped. All must be answered correctly after one
 * wake. Reports the proxy's peak RSS (VmHWM) and the time from the group
 * turning ready (the proxy's `Starting => Running` log line) to the last answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMember, groupEvents, ROOT, uniqueName } from '../test/support/docker-harness.js';
import { freePort } from '../test/support/net.js';
import { startProxytainer, withFileLimit } from './contenders.js';
import type { HoldClientReport } from './hold-client.js';
import { runToEnd, type Spawned } from './processes.js';
import { emptySection, errorText, progress, type SectionResult, verdict } from './report.js';
import { fixed } from './stats.js';

export const HOLD_RSS_TARGET_MB = 150;

export interface HoldOptions {
  readonly count: number;
  readonly spreadMs: number;
}

/** The kernel's count of connections dropped because a listen queue was full (TcpExt ListenOverflows), machine-wide. */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]?.split(/\s+/) ?? [];
    const values = lines[i + 1]?.split(/\s+/) ?? [];
    if (names[0] !== 'TcpExt:') continue;
    const at = names.indexOf('ListenOverflows');
    return at < 0 ? NaN : Number(values[at]);
  }
  return NaN;
}

/** The epoch ms of a log line `2026-11-26T16:20:54.123Z INFO …`. */
function lineTime(line: string): number {
  const at = Date.parse(line.slice(0, line.indexOf(' ')));
  if (Number.isNaN(at)) throw new Error(`no time stamp on log line: ${line}`);
  return at;
}

export async function measureHold(options: HoldOptions): Promise<SectionResult> {
  const result = emptySection();
  const group = uniqueName('bench-hold');
  const [port, upstream] = [await freePort(), await freePort()];
  const sinceSeconds = Math.floor(Date.now() / 1000);
  const container = await createMember({ group, server: ['--port', String(upstream), '--host', '127.0.0.1'] });
  let proxy: Spawned | null = null;
  try {
    proxy = await startProxytainer('proxytainer', [
      '--port', String(port),
      '--host', `127.0.0.1:${upstream}`,
      '--group', group,
      '--idle', '1h',
      '--bind', '127.0.0.1',
      '--max-held', String(options.count),
    ]);
    const fileLimit = await runToEnd('ulimit', 'bash', ['-c', 'ulimit -Hn'], 5_000);
    const [command, args] = withFileLimit(process.execPath, [
      '--import', 'tsx', join(ROOT, 'bench', 'hold-client.ts'),
      '--port', String(port),
      '--count', String(options.count),
      '--spread-ms', String(options.spreadMs),
      '--timeout-ms', '90000',
    ]);
    progress('hold', `opening ${options.count} connections within ${options.spreadMs} ms`);
    const overflowsBefore = listenOverflows();
    const out = await runToEnd('hold client', command, args, 120_000, { cwd: ROOT });
    if (out.code !== 0) throw new Error(`the hold client exited ${String(out.code)}: ${out.stderr.trim().slice(0, 500)}`);
    const overflows = listenOverflows() - overflowsBefore;
    const report = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as HoldClientReport;
    const peakMb = proxy.peakRssBytes() / 1e6;
    const readyLine = proxy.matching(/State change \(Starting => Running\)/)[0];
    const readyAt = readyLine === undefined ? NaN : lineTime(readyLine);
    const wakes = proxy.matching(/State change \(Idle => Starting\)/).length;
    const starts = (await groupEvents(group, sinceSeconds, 'start')).length;
    const failures = Object.entries(report.failed).map(([reason, n]) => `${n} ${reason}`);
    const refused = proxy.matching(/refused \d+ connection/);
    progress(
      'hold',
      `answered ${report.answered}/${report.count}, wrong ${report.wrong}, unanswered ${report.unanswered}${failures.length > 0 ? `, ${failures.join(', ')}` : ''}; ` +
        `connected in ${report.lastConnectedAt - report.startedAt} ms (${report.slowConnects} connects took ≥ 1 s; listen queue overflows ${overflows}); peak RSS ${fixed(peakMb)} MB; wakes ${wakes}, docker starts ${starts}; ` +
        `hard open-file limit ${fileLimit.stdout.trim()}${refused.length > 0 ? `; proxy: ${refused.join(' / ')}` : ''}`,
    );
    const all = report.answered === report.count;
    const oneWake = wakes === 1 && starts === 1;
    result.rows.push(
      {
        measure: `hold ${options.count.toLocaleString('en')} on an asleep group: answered correctly`,
        values: { proxytainer: `${report.answered}/${report.count}` },
        target: '100%, one wake',
        met: verdict(all && oneWake, [`${fixed((100 * report.answered) / report.count, 2)}%`, `${starts} start(s)`, ...failures, ...(report.wrong > 0 ? [`${report.wrong} wrong`] : [])].join('; ')),
      },
      {
        measure: 'hold: peak RSS of the proxy (MB)',
        values: { proxytainer: fixed(peakMb) },
        target: `≤ ${HOLD_RSS_TARGET_MB} MB`,
        met: verdict(peakMb <= HOLD_RSS_TARGET_MB),
      },
      {
        measure: 'hold: ready → last answer (ms)',
        values: { proxytainer: report.lastAnswerAt === 0 ? '-' : fixed(report.lastAnswerAt - readyAt, 0) },
        met: '-',
      },
      {
        measure: 'hold: last connect → last answer (ms)',
        values: { proxytainer: report.lastAnswerAt === 0 ? '-' : fixed(report.lastAnswerAt - report.lastConnectedAt, 0) },
        met: '-',
      },
      {
        measure: `hold: all ${options.count.toLocaleString('en')} connected after (ms)`,
        values: { proxytainer: fixed(report.lastConnectedAt - report.startedAt, 0) },
        target: `(opened within ${options.spreadMs})`,
        met: '-',
      },
      {
        measure: 'hold: connects that took ≥ 1 s, SYN retried (kernel listen queue overflows)',
        values: { proxytainer: `${report.slowConnects} (${overflows})` },
        met: '-',
      },
    );
    result.notes.push(`hold: ${options.count} connections, each sending a unique line and expecting it echoed; the test server in one container (host network) behind static-mode proxytainer --max-held ${options.count}; open-file limit (hard) ${fileLimit.stdout.trim()}.`);
  } catch (error) {
    result.problems.push(`hold: ${errorText(error)}${proxy === null ? '' : `\nproxy log ends:\n${proxy.tail()}`}`);
  } finally {
    await proxy?.stop();
    await container.remove({ force: true }).catch(() => undefined);
  }
  return result;
}
