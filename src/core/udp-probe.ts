import type { Socket } from 'node:dgram';

/**
 * How long a probe waits for the kernel to say nothing listens (ICMP port
 * unreachable, ECONNREFUSED) before it counts as taken. On one host (loopback
 * or a bridge network) the answer comes within a millisecond; 50 ms leaves
 * room for a busy event loop and a LAN.
 */
export const PROBE_QUIET_MS = 50;

/** `replied`: the upstream answered; `quiet`: no refusal came in time, so it took the datagram. */
export type ProbeVerdict = 'replied' | 'quiet';

/**
 * Sends one datagram on a connected socket and waits for the verdict: a reply
 * (taken), a socket error such as ECONNREFUSED (not taken: the promise
 * rejects with it), or silence for `quietMs` (taken). The socket's own
 * listeners still see the reply, so it reaches the client as any other.
 */
export function probeDatagram(socket: Socket, data: Buffer, options: { readonly quietMs: number; readonly signal: AbortSignal }): Promise<ProbeVerdict> {
  const { quietMs, signal } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const settle = (outcome: ProbeVerdict | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearImmediate(immediate);
      socket.off('message', onMessage);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onMessage = (): void => {
      settle('replied');
    };
    const onError = (error: Error): void => {
      settle(error);
    };
    const onAbort = (): void => {
      settle(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    socket.on('message', onMessage);
    socket.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.send(data, (error) => {
      if (error !== null) {
        settle(error);
        return;
      }
      // The timer may fire in the same loop turn as a refusal that arrived meanwhile:
      // let the poll phase deliver that first (setImmediate runs after it).
      timer = setTimeout(() => {
        immediate = setImmediate(() => {
          settle('quiet');
        });
      }, quietMs);
    });
  });
}
