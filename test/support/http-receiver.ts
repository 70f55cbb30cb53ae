import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from './net.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request, for webhook
 * tests. `answer` decides each reply: a status, or 'hang' to never answer.
 */
export async function startReceiver(answer: (request: ReceivedRequest, index: number) => number | 'hang' = () => 204): Promise<{
  readonly port: number;
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Resolves once `count` requests have arrived. */
  readonly received: (count: number, timeoutMs?: number) => Promise<void>;
  readonly close: () => Promise<void>;
}> {
  const requests: ReceivedRequest[] = [];
  const waiters: (() => void)[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      requests.push(recorded);
      for (const wake of waiters.splice(0)) wake();
      const status = answer(recorded, requests.length - 1);
      if (status === 'hang') {
        hanging.add(response);
        return;
      }
      response.writeHead(status);
      response.end();
    });
  });
  const port = await listenLocal(server);
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    received: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${requests.length} request(s) within ${timeoutMs}ms, not ${count}: ${requests.map((r) => r.body).join('\n')}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
