import type { Command, Help } from 'commander';

/** The command's full name as typed: `docker proxytainer run`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Help in the docker CLI's layout: `Usage:  docker proxytainer [OPTIONS] COMMAND`,
 * the description, Commands, Options, and a pointer to each command's help.
 */
export function dockerStyleHelp(command: Command, helper: Help): string {
  const path = commandPath(command);
  const commands = helper.visibleCommands(command);
  const options = helper.visibleOptions(command);
  const args = command.registeredArguments.map((a) => (a.required ? a.name().toUpperCase() : `[${a.name().toUpperCase()}]`));
  const usage = [path, options.length > 0 ? '[OPTIONS]' : '', commands.length > 0 ? 'COMMAND' : '', ...args].filter((part) => part !== '').join(' ');
  const width = Math.max(...commands.map((c) => c.name().length), ...options.map((o) => helper.optionTerm(o).length), 0);
  const row = (term: string, description: string): string => `  ${term.padEnd(width)}   ${description}`;
  const lines = [`Usage:  ${usage}`, '', helper.commandDescription(command)];
  if (commands.length > 0) {
    lines.push('', 'Commands:', ...commands.map((c) => row(c.name(), helper.subcommandDescription(c))));
  }
  if (options.length > 0) {
    lines.push('', 'Options:', ...options.map((o) => row(helper.optionTerm(o), helper.optionDescription(o))));
  }
  if (commands.length > 0) lines.push('', `Run '${path} COMMAND --help' for more information on a command.`);
  return `${lines.join('\n')}\n`;
}
