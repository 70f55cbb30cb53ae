import { formatHostPort, type HostPort } from './address.js';

/** Where a listener forwards to, found afresh at every wake. */
export interface UpstreamSource {
  /** For logs and status: `127.0.0.1:80`, `web-1:8080 (its address)`. */
  readonly description: string;
  resolve(signal: AbortSignal): Promise<HostPort>;
}

/** An upstream given as host:port; the host name is still resolved at every connect. */
export function fixedUpstream(target: HostPort): UpstreamSource {
  return { description: formatHostPort(target), resolve: () => Promise.resolve(target) };
}
