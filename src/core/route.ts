import type { Group } from './group.js';
import type { HostnamePattern } from './protocols/hostname-pattern.js';
import type { UpstreamSource } from './upstream-source.js';

/** What a group says about Minecraft (`proxytainer.protocol=minecraft`, `--protocol minecraft`). */
export interface MinecraftRoute {
  /** The server list's text while the group sleeps; undefined: proxytainer's own. */
  readonly motd: string | undefined;
}

/**
 * One group's claim on a TCP port. A port with one route and neither names
 * nor Minecraft forwards every connection at once, reading nothing first;
 * otherwise each connection's first bytes say which route it takes (issue 16).
 */
export interface Route {
  readonly group: Group;
  readonly upstream: UpstreamSource;
  /** Names this route answers to; empty: the port's fallback, for names no other route claims. */
  readonly hostnames: readonly HostnamePattern[];
  readonly minecraft: MinecraftRoute | null;
}
