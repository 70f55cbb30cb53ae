/**
 * The port through which discovery finds groups: every labelled member with
 * its labels, where a member can be reached, and when membership may have
 * changed. Docker implements it in src/docker (containers; Swarm services
 * later); tests implement it in memory.
 */

import type { MemberKind } from './runtime.js';

/** A member as its declarations read: who it is, when it was created (oldest wins conflicts), its labels. */
export interface CatalogEntry {
  readonly id: string;
  readonly name: string;
  /** Creation time in seconds; earlier members win conflicts. */
  readonly created: number;
  readonly labels: Readonly<Record<string, string>>;
  /** It shares the host's network, so it is reached at 127.0.0.1 on its own ports. */
  readonly hostNetwork: boolean;
  /** Absent: a container. */
  readonly kind?: MemberKind;
  /**
   * Why the backend cannot put this member to sleep and wake it (a Swarm
   * global service cannot be scaled), when it cannot: the member is left out
   * of its group, and the reason is reported against its group label.
   */
  readonly unsupported?: string;
}

export interface Catalog {
  /** Human description of the backend endpoint, for messages. */
  readonly endpoint: string;
  /** Every member carrying the group label, running or not. */
  list(signal: AbortSignal): Promise<CatalogEntry[]>;
  /**
   * Where the member named `name` can be reached now: an address or host
   * name. Asked at every wake, because a restarted member may move.
   */
  address(name: string, signal: AbortSignal): Promise<string>;
  /**
   * Calls `listener` whenever members may have been added, removed or
   * relabelled, or changes may have been missed (the feed reconnected), so
   * the list should be read again. Returns an unsubscribe function.
   */
  onMembershipChange(listener: (reason: string) => void): () => void;
}
