import { createSocket, type Socket } from 'node:dgram';
import { formatHostPort } from './address.js';
import { clientAddress } from './address-list.js';
import type { HoldingFlow } from './held-datagrams.js';

/** Where a flow's socket connects: the upstream's address as resolved for this wake. */
export interface UdpTarget {
  /** An IP literal. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

/** What the listener does with what arrives on a flow's upstream socket. */
export interface FlowHandlers {
  readonly onReply: (data: Buffer) => void;
  readonly onError: (error: Error) => void;
}

/** The flow was closed while its socket was being opened. */
export class FlowClosedError extends Error {
  constructor() {
    super('the flow was closed');
    this.name = 'FlowClosedError';
  }
}

/**
 * One client address:port on one UDP listener, with its own upstream socket.
 * The socket is connected, so the upstream sees each client as a distinct
 * address, only the upstream's replies arrive on it (and go back to this
 * client alone), and the kernel reports ICMP port unreachable on it.
 */
export class UdpFlow implements HoldingFlow {
  held = 0;
  /** Datagrams go straight to the upstream: the socket is connected and nothing held is still before them. */
  open = false;
  socket: Socket | null = null;
  lastActivity: number;
  private connecting: Promise<Socket> | null = null;
  private target: UdpTarget | null = null;
  /** Counts closes, so that a connect that completes after one is undone. */
  private generation = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    now: number,
  ) {
    this.lastActivity = now;
  }

  /** The client as people write it: an IPv4 client of a dual-stack listener shows as a.b.c.d, not ::ffff:a.b.c.d. */
  get peer(): string {
    return formatHostPort({ host: clientAddress(this.address), port: this.port });
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** Opens the upstream socket, once per target (another target closes the first); resolves when it is connected. */
  connect(target: UdpTarget, handlers: FlowHandlers): Promise<Socket> {
    if (this.connecting !== null && (this.target?.address !== target.address || this.target.port !== target.port)) this.closeSocket();
    if (this.connecting === null) {
      this.target = target;
      this.connecting = this.openSocket(target, handlers);
    }
    return this.connecting;
  }

  private openSocket(target: UdpTarget, handlers: FlowHandlers): Promise<Socket> {
    const generation = this.generation;
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' });
      const fail = (error: Error): void => {
        closeQuietly(socket);
        if (this.generation === generation) this.connecting = null;
        reject(error);
      };
      socket.once('error', fail);
      socket.connect(target.port, target.address, () => {
        socket.off('error', fail);
        if (this.generation !== generation) {
          closeQuietly(socket);
          reject(new FlowClosedError());
          return;
        }
        socket.on('error', handlers.onError);
        socket.on('message', handlers.onReply);
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  /** Closes the upstream socket (a connect under way is undone); the flow itself may open another later. */
  closeSocket(): void {
    this.generation++;
    this.open = false;
    this.connecting = null;
    const { socket } = this;
    this.socket = null;
    if (socket !== null) closeQuietly(socket);
  }
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed (a bind that failed leaves nothing to close).
  }
}
