import { UsageError } from '../core/errors.js';
import type { EndpointFlags } from '../docker/endpoint.js';

/** The docker CLI's global flags, as it passes them to a plugin before the plugin's name. */
export interface DockerGlobalFlags extends EndpointFlags {
  readonly debug?: boolean;
  readonly logLevel?: string;
}

/** What a plugin invocation asks for, once docker's global flags are taken off. */
export type PluginInvocation =
  | { readonly kind: 'run'; readonly flags: DockerGlobalFlags; readonly args: readonly string[] }
  | { readonly kind: 'help'; readonly flags: DockerGlobalFlags; readonly args: readonly string[] }
  | { readonly kind: 'complete'; readonly flags: DockerGlobalFlags; readonly args: readonly string[] };

type ValueFlag = 'config' | 'context' | 'host' | 'logLevel' | 'tlscacert' | 'tlscert' | 'tlskey';
type BoolFlag = 'debug' | 'tls' | 'tlsverify';

const LONG_VALUE: Readonly<Record<string, ValueFlag>> = {
  config: 'config',
  context: 'context',
  host: 'host',
  'log-level': 'logLevel',
  tlscacert: 'tlscacert',
  tlscert: 'tlscert',
  tlskey: 'tlskey',
};
const LONG_BOOL: Readonly<Record<string, BoolFlag>> = { debug: 'debug', tls: 'tls', tlsverify: 'tlsverify' };
const SHORT_VALUE: Readonly<Record<string, ValueFlag>> = { c: 'context', H: 'host', l: 'logLevel' };
const SHORT_BOOL: Readonly<Record<string, BoolFlag>> = { D: 'debug' };

/**
 * Parses the docker CLI's global flags in every pflag form it passes them
 * (`--host=x`, `--host x`, `-H x`, `-Hx`, `-cname`, clustered `-Dl debug`),
 * up to the plugin's name. `docker help proxytainer` and cobra's
 * `__complete proxytainer` are recognised too.
 */
export function parsePluginArgv(argv: readonly string[], pluginName: string): PluginInvocation {
  const values: Partial<Record<ValueFlag, string>> = {};
  const bools: Partial<Record<BoolFlag, boolean>> = {};
  const hosts: string[] = [];
  const setValue = (flag: ValueFlag, value: string | undefined, spelled: string): void => {
    if (value === undefined) throw new UsageError(`docker flag ${spelled} needs a value`);
    if (flag === 'host') hosts.push(value);
    else values[flag] = value;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
      const valueFlag = LONG_VALUE[name];
      const boolFlag = LONG_BOOL[name];
      if (valueFlag !== undefined) setValue(valueFlag, inline ?? argv[++i], `--${name}`);
      else if (boolFlag !== undefined) bools[boolFlag] = inline === undefined ? true : inline !== 'false';
      else throw new UsageError(`unknown docker flag ${arg} before ${pluginName}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] ?? '';
        const valueFlag = SHORT_VALUE[letter];
        const boolFlag = SHORT_BOOL[letter];
        if (boolFlag !== undefined) {
          bools[boolFlag] = true;
        } else if (valueFlag !== undefined) {
          const rest = arg.slice(j + 1).replace(/^=/, '');
          setValue(valueFlag, rest !== '' ? rest : argv[++i], `-${letter}`);
          break;
        } else {
          throw new UsageError(`unknown docker flag -${letter} before ${pluginName}`);
        }
      }
      continue;
    }
    break;
  }
  if (hosts.length > 1) throw new UsageError('specify only one -H');
  const flags: DockerGlobalFlags = {
    ...(hosts[0] === undefined ? {} : { host: hosts[0] }),
    ...(values.context === undefined ? {} : { context: values.context }),
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(values.tlscacert === undefined ? {} : { tlscacert: values.tlscacert }),
    ...(values.tlscert === undefined ? {} : { tlscert: values.tlscert }),
    ...(values.tlskey === undefined ? {} : { tlskey: values.tlskey }),
    ...(values.logLevel === undefined ? {} : { logLevel: values.logLevel }),
    ...bools,
  };
  const rest = argv.slice(i);
  const [first, second] = rest;
  if (first === 'help' && second === pluginName) return { kind: 'help', flags, args: rest.slice(2) };
  if (first === '__complete' && second === pluginName) return { kind: 'complete', flags, args: rest.slice(2) };
  if (first !== pluginName) {
    throw new UsageError(`expected the plugin name "${pluginName}" after docker's flags, got "${first ?? ''}"; run it as docker ${pluginName} …`);
  }
  return { kind: 'run', flags, args: rest.slice(1) };
}
