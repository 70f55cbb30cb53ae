import type { Clock } from './clock.js';

/** Linux's defaults: net.ipv4.icmp_ratelimit (and net.ipv6.icmp.ratelimit), and the burst its token bucket allows. */
const ICMP_INTERVAL_MS = 1000;
const ICMP_BURST = 6;
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * When the kernel could tell us that nothing listens on a UDP port. A
 * connected UDP socket learns it from an ICMP "port unreachable" (surfaced as
 * ECONNREFUSED), and Linux rate-limits those per destination: a burst of 6,
 * then one a second (the ICMP is sent to us, so the bucket is keyed by the
 * upstream's address here), except over loopback. A probe that meets silence
 * proves the upstream took it only if an answer could have been sent, so
 * probes wait for the credit this model of the kernel's bucket says there is.
 * Measured on Linux 6.18 against a container on a bridge network: probes at
 * 10 ms to 500 ms backoff got 6 answers in a row, then only one a second.
 */
export class IcmpAllowance {
  private readonly buckets = new Map<string, { credit: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = ICMP_INTERVAL_MS,
    private readonly burst = ICMP_BURST,
  ) {}

  /** Milliseconds until `host` may answer a probe with an ICMP again; 0 when it may now. */
  waitMs(host: string): number {
    if (LOOPBACK.test(host)) return 0;
    return Math.max(0, this.intervalMs - this.bucket(host).credit);
  }

  /** `host` answered with an ICMP: one fewer in its bucket. */
  spend(host: string): void {
    if (LOOPBACK.test(host)) return;
    this.bucket(host).credit -= this.intervalMs;
  }

  private bucket(host: string): { credit: number; at: number } {
    const now = this.clock.now();
    const full = this.burst * this.intervalMs;
    let bucket = this.buckets.get(host);
    if (bucket === undefined) {
      // A host unheard of has a full bucket; hosts whose bucket refilled are forgotten, so the map stays small.
      if (this.buckets.size >= 1024) for (const [key, b] of this.buckets) if (b.credit + now - b.at >= full) this.buckets.delete(key);
      bucket = { credit: full, at: now };
      this.buckets.set(host, bucket);
    }
    bucket.credit = Math.min(full, bucket.credit + (now - bucket.at));
    bucket.at = now;
    return bucket;
  }
}
