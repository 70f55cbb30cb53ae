import type { DependencyCondition } from './runtime.js';
import { splitList } from './labels.js';

/** A dependency as declared: a name (a container, or a compose service of the same project) and a condition. */
export interface DeclaredDependency {
  readonly name: string;
  readonly condition: DependencyCondition;
}

const CONDITIONS: readonly DependencyCondition[] = ['service_started', 'service_healthy', 'service_completed_successfully'];

function isCondition(text: string): text is DependencyCondition {
  return (CONDITIONS as readonly string[]).includes(text);
}

/**
 * Reads `proxytainer.depends-on=NAME[:condition][,…]` (the condition is
 * compose's; service_started when left out). What cannot be read is a
 * problem naming the part; the rest is kept.
 */
export function parseDependsOn(value: string): { dependencies: DeclaredDependency[]; problems: string[] } {
  const dependencies: DeclaredDependency[] = [];
  const problems: string[] = [];
  for (const part of splitList(value).filter((p) => p !== '')) {
    const [name = '', condition = 'service_started', ...rest] = part.split(':');
    if (name === '' || rest.length > 0) problems.push(`"${part}" is not NAME or NAME:condition`);
    else if (!isCondition(condition)) problems.push(`"${condition}" in "${part}" is not a condition; use ${CONDITIONS.join(', ')}`);
    else dependencies.push({ name, condition });
  }
  return { dependencies, problems };
}

/**
 * Reads compose v2's own `com.docker.compose.depends_on`
 * (`service:condition:restart[,…]`), written by compose, never by people:
 * what it cannot read it skips.
 */
export function parseComposeDependsOn(value: string): DeclaredDependency[] {
  return splitList(value).flatMap((part) => {
    const [name = '', condition = 'service_started'] = part.split(':');
    return name !== '' && isCondition(condition) ? [{ name, condition }] : [];
  });
}
