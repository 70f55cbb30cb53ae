import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatHostPort, parseHostPort, parsePort } from '../core/address.js';
import { describeError, UserError } from '../core/errors.js';
import type { GroupHealth } from '../core/group-health.js';
import type { GroupStateName } from '../core/group-machine.js';
import type { Logger } from '../core/logger.js';

/** Where the metrics endpoint listens; host undefined: every interface. */
export interface MetricsAddress {
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses `127.0.0.1:9464`, `:9464` (every interface) or `[::1]:9464`. */
export function parseMetricsAddress(text: string): MetricsAddress {
  if (text.startsWith(':')) return { host: undefined, port: parsePort(text.slice(1)) };
  if (/^\d+$/.test(text)) throw new Error(`"${text}" has no address; write 127.0.0.1:${text} (this machine only) or :${text} (every interface)`);
  const { host, port } = parseHostPort(text);
  return { host, port };
}

export function formatMetricsAddress({ host, port }: MetricsAddress): string {
  return host === undefined ? `:${port} (every interface)` : formatHostPort({ host, port });
}

/** What the endpoint serves: the metrics text, and each group's health. */
export interface MetricsEndpoints {
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** A group's health; undefined for a group this proxy does not manage. */
  health(group: string): (GroupHealth & { readonly state: GroupStateName }) | undefined;
  /** The groups it manages, for the 404's message. */
  groups(): readonly string[];
}

const HEALTH = /^\/groups\/([^/]+)\/health$/;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(`${JSON.stringify(body)}\n`);
}

async function handle(endpoints: MetricsEndpoints, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://metrics');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    response.end('only GET and HEAD\n');
    return;
  }
  if (url.pathname === '/metrics') {
    const { contentType, body } = await endpoints.render();
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    response.end(body);
    return;
  }
  const health = HEALTH.exec(url.pathname);
  if (health !== null) {
    const group = decodeURIComponent(health[1] ?? '');
    const found = endpoints.health(group);
    if (found === undefined) {
      const known = endpoints.groups();
      sendJson(response, 404, { group, error: `no group named ${group} in this proxy${known.length === 0 ? '' : ` (it manages ${known.join(', ')})`}` });
      return;
    }
    // Never wakes the group: this is what uptime monitors poll, and asleep is healthy.
    sendJson(response, found.healthy ? 200 : 503, { group, state: found.state, healthy: found.healthy, reason: found.reason });
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('proxytainer serves GET /metrics and GET /groups/NAME/health here\n');
}

/**
 * The one TCP listener that is not a proxied port, off unless --metrics asks
 * for it: Prometheus's text format on /metrics, and /groups/NAME/health for
 * uptime monitors. It answers only GETs and changes nothing.
 */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly address: MetricsAddress,
  ) {}

  static async start(address: MetricsAddress, endpoints: MetricsEndpoints, logger: Logger): Promise<MetricsServer> {
    const server = createServer((request, response) => {
      handle(endpoints, request, response).catch((error: unknown) => {
        logger.error(`metrics request failed: ${describeError(error)}`);
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        reject(new UserError(`cannot serve metrics on ${formatMetricsAddress(address)}: ${describeError(error)}; choose another --metrics address`, { cause: error }));
      });
      server.listen({ host: address.host, port: address.port }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (error) => {
      logger.error(`metrics endpoint: ${describeError(error)}`);
    });
    const where = address.host === undefined ? `<any address>:${address.port}` : formatHostPort({ host: address.host, port: address.port });
    logger.info(`metrics on http://${where}/metrics, group health on http://${where}/groups/NAME/health`);
    return new MetricsServer(server, address);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}
