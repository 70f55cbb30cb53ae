/** The labels proxytainer reads (DESIGN.md, Labels): one list of their names for every layer. */
export const LABEL = {
  group: 'proxytainer.group',
  port: 'proxytainer.port',
  upstream: 'proxytainer.upstream',
  idle: 'proxytainer.idle',
  health: 'proxytainer.health',
  dependsOn: 'proxytainer.depends-on',
  sleep: 'proxytainer.sleep',
  idleThreshold: 'proxytainer.idle-threshold',
  wakeOn: 'proxytainer.wake-on',
  wakeMinBytes: 'proxytainer.wake-min-bytes',
  wakeFrom: 'proxytainer.wake-from',
  allowFrom: 'proxytainer.allow-from',
  webhook: 'proxytainer.webhook',
  /** Names a shared port routes to this group by (TLS SNI, HTTP Host, Minecraft address). */
  hostname: 'proxytainer.hostname',
  /** `minecraft`: read the Minecraft handshake, answer status pings while asleep. */
  protocol: 'proxytainer.protocol',
  /** The server list's text while a Minecraft group sleeps. */
  motd: 'proxytainer.motd',
  /** On a Swarm service: how many replicas a wake scales it to. */
  replicas: 'proxytainer.replicas',
} as const;

/** Labels compose writes on the containers it creates, which proxytainer reads too. */
export const COMPOSE_LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  dependsOn: 'com.docker.compose.depends_on',
} as const;

/** The groups a `proxytainer.group` value names: one, or several separated by commas (a shared member). */
export function groupsOf(value: string): string[] {
  return [...new Set(splitList(value).filter((name) => name !== ''))];
}

/** Parses `proxytainer.replicas`: a whole number from 1, throwing an Error that says what to write. */
export function parseReplicas(text: string): number {
  const value = text.trim();
  if (!/^\d+$/.test(value)) throw new Error(`"${text}" is not a number of replicas; write a whole number from 1, e.g. ${LABEL.replicas}=3`);
  const count = Number(value);
  if (count < 1) throw new Error(`"${text}" would wake the service to no replicas at all; write 1 or more`);
  return count;
}

/** A comma-separated label value, each part trimmed. */
export function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim());
}
