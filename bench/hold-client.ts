/**
 * The load side of the hold-at-scale measure, run as its own process (with a
 * raised open-file limit): opens `--count` connections to `--port` spread over
 * `--spread-ms`, each sending a short unique line, and checks that each gets
 * exactly that line echoed back. Prints one JSON object (HoldClientReport).
 *
 *   node --import tsx bench/hold-client.ts --port P --count 10000 --spread-ms 1000 --timeout-ms 60000
 */
import { connect, type Socket } from 'node:net';

export interface HoldClientReport {
  readonly count: number;
  readonly connected: number;
  readonly answered: number;
  readonly wrong: number;
  /** Connections that ended before their answer, by reason. */
  readonly failed: Record<string, number>;
  readonly unanswered: number;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly lastConnectedAt: number;
  readonly firstAnswerAt: number;
  readonly lastAnswerAt: number;
  /** Connections whose handshake took 1 s or more: the kernel retransmitted their SYN (listen queue full). */
  readonly slowConnects: number;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

const port = option('port', 0);
const count = option('count', 10_000);
const spreadMs = option('spread-ms', 1000);
const timeoutMs = option('timeout-ms', 60_000);

const startedAt = Date.now();
let connected = 0;
let answered = 0;
let wrong = 0;
let settled = 0;
let lastConnectedAt = 0;
let firstAnswerAt = 0;
let lastAnswerAt = 0;
let slowConnects = 0;
const failed: Record<string, number> = {};
const sockets = new Set<Socket>();

const done = new Promise<void>((resolve) => {
  const settle = (): void => {
    if (++settled === count) resolve();
  };

  function open(i: number): void {
    const message = `hold ${i} ${Math.random().toString(36).slice(2, 10)}\n`;
    const opened = Date.now();
    const socket = connect({ port, host: '127.0.0.1' });
    sockets.add(socket);
    let received = '';
    let finished = false;
    // 'answered', 'wrong', or why the connection failed.
    const finish = (outcome: string): void => {
      if (finished) return;
      finished = true;
      sockets.delete(socket);
      socket.destroy();
      if (outcome === 'answered') {
        answered++;
        lastAnswerAt = Date.now();
        if (firstAnswerAt === 0) firstAnswerAt = lastAnswerAt;
      } else if (outcome === 'wrong') wrong++;
      else failed[outcome] = (failed[outcome] ?? 0) + 1;
      settle();
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      connected++;
      lastConnectedAt = Date.now();
      if (lastConnectedAt - opened >= 1000) slowConnects++;
      socket.write(message);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length >= message.length) finish(received === message ? 'answered' : 'wrong');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      finish(`error ${error.code ?? error.message}`);
    });
    socket.once('close', () => {
      finish(received === '' ? 'closed before answering' : 'closed mid-answer');
    });
  }

  // Batches every 10 ms: `count` connections within `spreadMs`.
  const batches = Math.max(1, Math.round(spreadMs / 10));
  let next = 0;
  let batch = 0;
  const tick = (): void => {
    batch++;
    const until = Math.min(count, Math.round((batch * count) / batches));
    for (; next < until; next++) open(next);
    if (next < count) setTimeout(tick, startedAt + batch * 10 - Date.now());
  };
  tick();
});

const timer = setTimeout(() => {
  for (const socket of sockets) socket.destroy();
  finishReport();
}, timeoutMs);

await done;
clearTimeout(timer);
finishReport();

function finishReport(): void {
  const report: HoldClientReport = {
    count,
    connected,
    answered,
    wrong,
    failed,
    unanswered: count - answered - wrong - Object.values(failed).reduce((a, b) => a + b, 0),
    startedAt,
    lastConnectedAt,
    firstAnswerAt,
    lastAnswerAt,
    slowConnects,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
