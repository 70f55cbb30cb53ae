import { type Command, Option } from 'commander';
import { NEWEST_KNOWN_API } from '../../docker/docker-client.js';
import type { CliContext } from '../cli-context.js';
import { packageInfo } from '../package-info.js';

export function registerVersion(program: Command, context: CliContext): void {
  program
    .command('version')
    .summary('show the version')
    .description('Show the proxytainer version, the Node.js it runs on, and the newest Docker API version it speaks.')
    .addOption(new Option('--format <format>', 'text, or json').choices(['text', 'json']).default('text'))
    .action((options: { format: 'text' | 'json' }) => {
      const info = { version: packageInfo.version, node: process.version, dockerApi: NEWEST_KNOWN_API };
      context.terminal.out(
        options.format === 'json'
          ? `${JSON.stringify(info)}\n`
          : `proxytainer ${info.version} (Node.js ${info.node}, Docker API up to ${info.dockerApi})\n`,
      );
    });
}
