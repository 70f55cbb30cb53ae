import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { eventually } from './wait.js';

function bound(type: SocketType, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, recvBufferSize: 4 << 20 });
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

const typeOf = (host: string): SocketType => (host.includes(':') ? 'udp6' : 'udp4');

/** A UDP port nothing is bound to right now. */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = await bound(typeOf(host), host, 0);
  const { port } = socket.address();
  socket.close();
  return port;
}

/** What a test server does with each datagram: echo it, keep it, or something of its own. */
export type UdpReply = 'echo' | 'none' | ((data: Buffer, send: (reply: Buffer | string) => void) => void);

/** A UDP echo server: every datagram goes back to its sender; it keeps what it got, in order, and from whom. */
export class UdpEcho {
  readonly received: { readonly data: Buffer; readonly from: string }[] = [];
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly host: string,
    public port: number,
    private readonly reply: UdpReply,
  ) {}

  /** Binds at once, or after `bindAfterMs` (an upstream that runs but does not listen yet). */
  static async start(options: { readonly host?: string; readonly port?: number; readonly bindAfterMs?: number; readonly reply?: UdpReply } = {}): Promise<UdpEcho> {
    const host = options.host ?? '127.0.0.1';
    const echo = new UdpEcho(host, options.port ?? (await freeUdpPort(host)), options.reply ?? 'echo');
    if (options.bindAfterMs === undefined) await echo.bind();
    else echo.timer = setTimeout(() => void echo.bind(), options.bindAfterMs);
    return echo;
  }

  async bind(): Promise<void> {
    if (this.closed) return;
    const socket = await bound(typeOf(this.host), this.host, this.port);
    socket.on('message', (data, from) => {
      this.received.push({ data, from: `${from.address}:${from.port}` });
      const send = (reply: Buffer | string): void => {
        if (this.socket !== null) socket.send(reply, from.port, from.address);
      };
      if (this.reply === 'echo') send(data);
      else if (this.reply !== 'none') this.reply(data, send);
    });
    this.socket = socket;
  }

  /** The distinct source addresses the server saw. */
  senders(): string[] {
    return [...new Set(this.received.map((r) => r.from))];
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}

/** A client socket connected to one port; keeps every reply in order. */
export class UdpClient {
  readonly replies: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data) => this.replies.push(data));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<UdpClient> {
    const socket = createSocket({ type: typeOf(host), recvBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpClient(socket);
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  send(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Waits until `count` replies have come. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Buffer[]> {
    await eventually(() => this.replies.length >= count, timeoutMs, `${count} replies (got ${this.replies.length})`);
    return this.replies;
  }

  texts(): string[] {
    return this.replies.map((r) => r.toString());
  }

  close(): void {
    this.socket.close();
  }
}

/** The local ports of the UDP sockets open on this host now (/proc/net/udp and udp6). */
export function openUdpPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local !== undefined) ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}
