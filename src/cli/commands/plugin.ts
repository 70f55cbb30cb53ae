import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describeError, errorCode, UserError } from '../../core/errors.js';
import { dockerConfigDir } from '../../docker/endpoint.js';
import type { CliContext } from '../cli-context.js';

const PLUGIN_FILE = 'docker-proxytainer';

/** bin/docker-proxytainer of this installation, wherever it was started from. */
function pluginExecutable(): string {
  return fileURLToPath(new URL(`../../../bin/${PLUGIN_FILE}`, import.meta.url));
}

function pluginDir(context: CliContext, dir: string | undefined): string {
  return dir === undefined ? join(dockerConfigDir(context.dockerFlags, context.env), 'cli-plugins') : resolve(dir);
}

/** What is at `path`: nothing, our symlink, or something else. */
function existing(path: string): 'none' | 'ours' | 'other' {
  try {
    if (!lstatSync(path).isSymbolicLink()) return 'other';
    return readlinkSync(path).endsWith(`/bin/${PLUGIN_FILE}`) ? 'ours' : 'other';
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'none';
    throw error;
  }
}

export function registerPlugin(program: Command, context: CliContext): void {
  const plugin = program
    .command('plugin')
    .summary('install or remove proxytainer as a docker CLI plugin')
    .description('Install proxytainer as `docker proxytainer`: a symlink docker-proxytainer in the docker CLI plugin directory (<docker config>/cli-plugins, where the docker config directory is DOCKER_CONFIG or ~/.docker).');
  plugin
    .command('install')
    .description('Link docker-proxytainer into the docker CLI plugin directory.')
    .option('--dir <dir>', 'plugin directory to use instead')
    .action((options: { dir?: string }) => {
      const dir = pluginDir(context, options.dir);
      const target = join(dir, PLUGIN_FILE);
      const found = existing(target);
      if (found === 'other') throw new UserError(`${target} exists and was not installed by proxytainer; remove it first`);
      try {
        mkdirSync(dir, { recursive: true });
        if (found === 'ours') rmSync(target);
        symlinkSync(pluginExecutable(), target);
      } catch (cause) {
        throw new UserError(`cannot install into ${dir}: ${describeError(cause)}; choose another directory with --dir`, { cause });
      }
      context.terminal.out(`Installed ${target} -> ${pluginExecutable()}\nTry: docker proxytainer --help\n`);
    });
  plugin
    .command('uninstall')
    .description('Remove docker-proxytainer from the docker CLI plugin directory.')
    .option('--dir <dir>', 'plugin directory to use instead')
    .action((options: { dir?: string }) => {
      const target = join(pluginDir(context, options.dir), PLUGIN_FILE);
      const found = existing(target);
      if (found === 'other') throw new UserError(`${target} was not installed by proxytainer; remove it yourself if you mean to`);
      if (found === 'none') {
        context.terminal.out(`Nothing to remove: ${target} does not exist\n`);
        return;
      }
      rmSync(target);
      context.terminal.out(`Removed ${target}\n`);
    });
}
