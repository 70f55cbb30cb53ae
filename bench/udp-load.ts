/**
 * The UDP bench's load: CLIENTS sockets, each keeping WINDOW datagrams of
 * SIZE bytes in flight to an echo server at 127.0.0.1:PORT (a closed loop, so
 * the rate is what the path sustains, not what a blast loses). Prints one JSON
 * line: round trips per second (each one datagram each way), and what went
 * wrong: replies lost (none for 200 ms: the window is refilled) or cut short.
 *
 *   node --import tsx bench/udp-load.ts PORT CLIENTS WINDOW SIZE SECONDS
 */
import { createSocket, type Socket } from 'node:dgram';

const [port, clients, window, size, seconds] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const WARMUP_MS = 300;
const LOST_AFTER_MS = 200;

const payload = Buffer.alloc(size, 0x5a);
let replies = 0;
let lost = 0;
let truncated = 0;
let measuring = false;
let stopping = false;

async function client(): Promise<{ socket: Socket; timer: NodeJS.Timeout }> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  let outstanding = 0;
  let lastReply = performance.now();
  const fill = (): void => {
    while (!stopping && outstanding < window) {
      socket.send(payload);
      outstanding++;
    }
  };
  socket.on('message', (data) => {
    outstanding--;
    lastReply = performance.now();
    if (measuring) {
      replies++;
      if (data.length !== size) truncated++;
    }
    fill();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined); // a refusal while the path comes up counts as lost below
  const timer = setInterval(() => {
    if (performance.now() - lastReply < LOST_AFTER_MS) return;
    if (measuring) lost += outstanding;
    outstanding = 0;
    lastReply = performance.now();
    fill();
  }, LOST_AFTER_MS / 2);
  fill();
  return { socket, timer };
}

const all = await Promise.all(Array.from({ length: clients }, () => client()));
await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
measuring = true;
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - started) / 1000;
stopping = true;
for (const { socket, timer } of all) {
  clearInterval(timer);
  socket.close();
}
const perSecond = replies / elapsed;
process.stdout.write(`${JSON.stringify({ roundTrips: replies, seconds: elapsed, perSecond, mbitEachWay: (perSecond * size * 8) / 1e6, lost, truncated })}\n`);
