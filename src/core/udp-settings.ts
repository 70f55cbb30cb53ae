/** The process-wide UDP options (`run --udp-timeout --max-flows --max-held-datagrams --max-held-bytes`). */
export interface UdpSettings {
  /** A flow ends after this long without a datagram either way. */
  readonly flowTimeoutMs: number;
  /** Flows open at once over every UDP listener; datagrams from further clients are dropped. */
  readonly maxFlows: number;
  /** Per group: datagrams held while it wakes; past it the oldest go. */
  readonly maxHeldDatagrams: number;
  /** Per group: bytes held while it wakes; past it the oldest go. */
  readonly maxHeldBytes: number;
}

export const DEFAULT_UDP_SETTINGS: UdpSettings = {
  flowTimeoutMs: 60_000,
  maxFlows: 10_000,
  maxHeldDatagrams: 1000,
  maxHeldBytes: 1024 * 1024,
};
