/** The labels proxytainer reads (DESIGN.md, Labels): one list of their names for every layer. */
export const LABEL = {
  group: 'proxytainer.group',
  port: 'proxytainer.port',
  upstream: 'proxytainer.upstream',
  idle: 'proxytainer.idle',
  health: 'proxytainer.health',
  /** On a Swarm service: how many replicas a wake scales it to. */
  replicas: 'proxytainer.replicas',
} as const;

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
