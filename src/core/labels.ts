/** The labels proxytainer reads (DESIGN.md, Labels): one list of their names for every layer. */
export const LABEL = {
  group: 'proxytainer.group',
  port: 'proxytainer.port',
  upstream: 'proxytainer.upstream',
  idle: 'proxytainer.idle',
  health: 'proxytainer.health',
  webhook: 'proxytainer.webhook',
} as const;

/** A comma-separated label value, each part trimmed. */
export function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim());
}
