import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DockerOptions } from 'dockerode';
import { UserError, UsageError } from '../core/errors.js';

/** The docker CLI's global flags that choose an engine. */
export interface EndpointFlags {
  readonly host?: string | undefined;
  readonly context?: string | undefined;
  readonly config?: string | undefined;
  readonly tls?: boolean | undefined;
  readonly tlsverify?: boolean | undefined;
  readonly tlscacert?: string | undefined;
  readonly tlscert?: string | undefined;
  readonly tlskey?: string | undefined;
}

interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly verify: boolean;
}

/** A Docker engine to talk to, and why it was chosen. */
export interface Endpoint {
  /** The engine's address as docker writes it: `unix:///var/run/docker.sock`, `tcp://host:2376`. */
  readonly url: string;
  /** What chose it: `--context prod`, `-H`, `DOCKER_HOST`, `the default`. */
  readonly source: string;
  /** The context in effect (`default` for -H, DOCKER_HOST and the default socket). */
  readonly context: string;
  readonly options: DockerOptions;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The docker CLI's configuration directory: --config, then DOCKER_CONFIG, then ~/.docker. */
export function dockerConfigDir(flags: EndpointFlags, env: NodeJS.ProcessEnv): string {
  return flags.config ?? env['DOCKER_CONFIG'] ?? join(homedir(), '.docker');
}

function readCurrentContext(configDir: string): string | undefined {
  const file = join(configDir, 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const config = JSON.parse(readFileSync(file, 'utf8')) as { currentContext?: unknown };
    return typeof config.currentContext === 'string' && config.currentContext !== '' ? config.currentContext : undefined;
  } catch (cause) {
    throw new UserError(`cannot read ${file}: it is not valid JSON; fix or remove it`, { cause });
  }
}

function readOptional(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** Builds dockerode options for a docker host URL, in every form the docker CLI accepts. */
export function dockerOptionsFor(url: string, tls: TlsMaterial | null, env: NodeJS.ProcessEnv): DockerOptions {
  // Every field is given explicitly: docker-modem merges its own reading of DOCKER_HOST under these.
  const base: DockerOptions = { host: undefined, socketPath: undefined, timeout: undefined, protocol: undefined, port: undefined };
  const withScheme = url.includes('://') ? url : `tcp://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch (cause) {
    throw new UserError(`"${url}" is not a Docker host; write it like unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host`, { cause });
  }
  switch (parsed.protocol) {
    case 'unix:':
      return { ...base, socketPath: decodeURIComponent(parsed.pathname) };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const secure = tls !== null || parsed.protocol === 'https:';
      const options: DockerOptions = {
        ...base,
        protocol: secure ? 'https' : 'http',
        host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: parsed.port === '' ? (secure ? 2376 : 2375) : Number(parsed.port),
      };
      if (tls === null) return options;
      return {
        ...options,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.verify ? {} : { agent: new Agent({ rejectUnauthorized: false }) }),
      };
    }
    case 'ssh:':
      return {
        ...base,
        protocol: 'ssh',
        host: parsed.hostname,
        port: parsed.port === '' ? 22 : Number(parsed.port),
        ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
        sshOptions: env['SSH_AUTH_SOCK'] === undefined ? {} : { agent: env['SSH_AUTH_SOCK'] },
      };
    default:
      throw new UserError(`Docker host "${url}" uses ${parsed.protocol.replace(':', '://')}, which proxytainer cannot use; use unix://, tcp:// or ssh://`);
  }
}

/** TLS settings of the `default` context: flags first, then DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH. */
function defaultTls(flags: EndpointFlags, env: NodeJS.ProcessEnv, configDir: string): TlsMaterial | null {
  const verify = flags.tlsverify === true || (env['DOCKER_TLS_VERIFY'] ?? '') !== '';
  const enabled = verify || flags.tls === true || (env['DOCKER_TLS'] ?? '') !== '' || flags.tlscacert !== undefined;
  if (!enabled) return null;
  const certDir = env['DOCKER_CERT_PATH'] ?? configDir;
  return {
    ca: readOptional(flags.tlscacert ?? join(certDir, 'ca.pem')),
    cert: readOptional(flags.tlscert ?? join(certDir, 'cert.pem')),
    key: readOptional(flags.tlskey ?? join(certDir, 'key.pem')),
    verify,
  };
}

function contextEndpoint(name: string, source: string, configDir: string, env: NodeJS.ProcessEnv): Endpoint {
  const digest = createHash('sha256').update(name).digest('hex');
  const metaFile = join(configDir, 'contexts', 'meta', digest, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new UserError(`Docker context "${name}" (from ${source}) does not exist in ${configDir}; list contexts with 'docker context ls'`);
  }
  let meta: { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as typeof meta;
  } catch (cause) {
    throw new UserError(`cannot read Docker context "${name}": ${metaFile} is not valid JSON`, { cause });
  }
  const docker = meta.Endpoints?.docker;
  if (typeof docker?.Host !== 'string' || docker.Host === '') {
    throw new UserError(`Docker context "${name}" has no docker endpoint (${metaFile}); recreate it with 'docker context create'`);
  }
  const tlsDir = join(configDir, 'contexts', 'tls', digest, 'docker');
  const material = { ca: readOptional(join(tlsDir, 'ca.pem')), cert: readOptional(join(tlsDir, 'cert.pem')), key: readOptional(join(tlsDir, 'key.pem')) };
  const hasTls = material.ca !== undefined || material.cert !== undefined || material.key !== undefined;
  const tls = hasTls || docker.SkipTLSVerify === true ? { ...material, verify: docker.SkipTLSVerify !== true } : null;
  return { url: docker.Host, source, context: name, options: dockerOptionsFor(docker.Host, tls, env) };
}

/**
 * Chooses the engine the docker CLI would use, in its order: --context, -H,
 * DOCKER_HOST, DOCKER_CONTEXT, currentContext in config.json, the default socket.
 */
export function resolveEndpoint(flags: EndpointFlags, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (flags.host !== undefined && flags.context !== undefined) {
    throw new UsageError('conflicting options: cannot specify both --host and --context');
  }
  const configDir = dockerConfigDir(flags, env);
  const useDefault = (url: string, source: string): Endpoint => ({
    url,
    source,
    context: 'default',
    options: dockerOptionsFor(url, defaultTls(flags, env, configDir), env),
  });
  const fromContext = (name: string, source: string): Endpoint =>
    name === 'default' ? useDefault(env['DOCKER_HOST'] || DEFAULT_DOCKER_HOST, source) : contextEndpoint(name, source, configDir, env);

  if (flags.context !== undefined) return fromContext(flags.context, `--context ${flags.context}`);
  if (flags.host !== undefined) return useDefault(flags.host, '-H');
  const envHost = env['DOCKER_HOST'];
  if (envHost !== undefined && envHost !== '') return useDefault(envHost, 'DOCKER_HOST');
  const envContext = env['DOCKER_CONTEXT'];
  if (envContext !== undefined && envContext !== '') return fromContext(envContext, 'DOCKER_CONTEXT');
  const current = readCurrentContext(configDir);
  if (current !== undefined) return fromContext(current, `currentContext in ${join(configDir, 'config.json')}`);
  return useDefault(DEFAULT_DOCKER_HOST, 'the default');
}
