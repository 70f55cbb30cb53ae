/** The commands, for shell completion through the docker CLI (cobra's __complete protocol). */
const COMMANDS = ['run', 'status', 'wake', 'sleep', 'plugin', 'version', 'help'];

/** Candidates one per line, then cobra's directive line (4: no file completion). */
export function completions(args: readonly string[]): string {
  const words = args.length === 0 ? [''] : args;
  const candidates = words.length === 1 ? COMMANDS.filter((name) => name.startsWith(words[0] ?? '')) : [];
  return `${[...candidates, ':4'].join('\n')}\n`;
}
