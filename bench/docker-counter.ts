/**
 * A unix socket that relays HTTP to the Docker engine's socket and counts the
 * requests passing through: every request a client sends, kept with the time
 * it was seen. A long-lived request (GET /events) counts once, when it is made.
 *
 * With `scopeLabel`, container listings and event streams are narrowed to
 * containers that also carry that label (added to the request's label
 * filters), so a proxy in discovery mode sees only the bench's own containers
 * and leaves those of other runs on the same engine (and their ports) alone.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SeenRequest {
  /** performance.now() when the request's head was seen. */
  readonly at: number;
  readonly line: string;
}

/** The engine's unix socket: DOCKER_HOST when it is a unix:// URL, else the default. */
export function engineSocket(): string {
  const host = process.env['DOCKER_HOST'];
  return host?.startsWith('unix://') === true ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

const SCOPED_PATH = /^(\/v[\d.]+)?\/(containers\/json|events)$/;

/** Adds `label` to the label filter of a container listing or event stream request target. */
export function scopeTarget(target: string, label: string): string {
  const url = new URL(target, 'http://docker');
  if (!SCOPED_PATH.test(url.pathname)) return target;
  const raw = url.searchParams.get('filters');
  const filters = (raw === null || raw === '' ? {} : JSON.parse(raw)) as Record<string, string[] | Record<string, boolean>>;
  const labels = filters['label'];
  if (labels === undefined) filters['label'] = [label];
  else if (Array.isArray(labels)) filters['label'] = [...labels, label];
  else filters['label'] = { ...labels, [label]: true };
  url.searchParams.set('filters', JSON.stringify(filters));
  return `${url.pathname}?${url.searchParams.toString()}`;
}

/** Splits a client's byte stream into requests: heads are counted (and rewritten), bodies passed on. */
class RequestStream {
  private pending = Buffer.alloc(0);
  private bodyLeft = 0;
  /** After an upgrade or a chunked body the rest is passed on unparsed. */
  private raw = false;

  constructor(
    private readonly seen: (line: string) => void,
    private readonly rewrite: (target: string) => string,
  ) {}

  /** The bytes to send on for `chunk`. */
  push(chunk: Buffer): Buffer {
    if (this.raw) return chunk;
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, this.pending.length);
        out.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.bodyLeft -= take;
        if (this.bodyLeft > 0) break;
        continue;
      }
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 4);
      const [requestLine = '', ...headers] = head.split('\r\n');
      const [method = '', target = '', version = ''] = requestLine.split(' ');
      this.seen(`${method} ${target}`);
      out.push(Buffer.from(`${[method, this.rewrite(target), version].join(' ')}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'));
      const header = (name: string): string | undefined =>
        headers.find((h) => h.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim().toLowerCase();
      if (header('transfer-encoding') !== undefined || header('upgrade') !== undefined) {
        this.raw = true;
        out.push(this.pending);
        this.pending = Buffer.alloc(0);
        break;
      }
      this.bodyLeft = Number(header('content-length') ?? 0) || 0;
    }
    return Buffer.concat(out);
  }
}

export class CountingDockerRelay {
  readonly path = join(tmpdir(), `proxytainer-bench-docker-${randomBytes(4).toString('hex')}.sock`);
  readonly requests: SeenRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly options: { readonly scopeLabel?: string; readonly target?: string } = {},
  ) {}

  get url(): string {
    return `unix://${this.path}`;
  }

  async open(): Promise<void> {
    rmSync(this.path, { force: true });
    const { scopeLabel } = this.options;
    this.server = createServer((client) => {
      const upstream = connect(this.options.target ?? engineSocket());
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.once('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      const requests = new RequestStream(
        (line) => this.requests.push({ at: performance.now(), line }),
        (target) => (scopeLabel === undefined ? target : scopeTarget(target, scopeLabel)),
      );
      client.on('data', (chunk: Buffer) => {
        const out = requests.push(chunk);
        if (out.length > 0 && !upstream.write(out)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      client.once('end', () => upstream.end());
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.path, resolve);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      if (this.server === null) resolve();
      else
        this.server.close(() => {
          resolve();
        });
    });
    this.server = null;
    rmSync(this.path, { force: true });
  }

  /** Requests seen at or after `since` (performance.now()). */
  since(since: number): SeenRequest[] {
    return this.requests.filter((r) => r.at >= since);
  }
}

/** `GET /v1.41/containers/json?…` → `GET /containers/json`, to group calls by kind. */
export function requestKind(line: string): string {
  return line.replace(/\?.*$/, '').replace(/\/v\d+\.\d+\//, '/').replace(/\/[0-9a-f]{64}\b/g, '/<id>');
}
