import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A unix socket that relays to the real Docker socket, and can be cut and
 * restored: from the proxy's side, the engine goes away and comes back, as it
 * does when dockerd restarts or a socket proxy hiccups.
 */
export class SocketRelay {
  readonly path = join(tmpdir(), `proxytainer-relay-${randomBytes(4).toString('hex')}.sock`);
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Connections made through the relay so far. */
  accepted = 0;

  constructor(private readonly target = '/var/run/docker.sock') {}

  get url(): string {
    return `unix://${this.path}`;
  }

  async open(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.once('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => {
      this.server?.listen(this.path, resolve);
    });
  }

  /** Drops every connection and stops listening: the engine is gone. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      if (this.server === null) resolve();
      else this.server.close(() => {
        resolve();
      });
    });
    this.server = null;
    rmSync(this.path, { force: true });
  }
}
