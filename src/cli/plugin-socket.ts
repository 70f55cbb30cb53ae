import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';

const POLL_MS = 1000;
const REASON = 'the docker CLI asked the plugin to stop (its socket closed)';

/** True while a unix socket named `@name` is listed in /proc/net/unix. */
async function abstractSocketExists(name: string): Promise<boolean | null> {
  try {
    const table = await readFile('/proc/net/unix', 'utf8');
    return table.split('\n').some((line) => line.endsWith(` ${name}`));
  } catch {
    return null; // not Linux, or /proc unavailable
  }
}

/**
 * Resolves when the docker CLI asks its plugin to stop. With stdout not a
 * terminal the CLI forwards no SIGINT/SIGTERM; it closes the socket named in
 * DOCKER_CLI_PLUGIN_SOCKET instead. Node 22 connects to that abstract socket
 * and sees EOF; Node 20's libuv pads abstract names and cannot connect, so
 * there the socket is watched in /proc/net/unix and its disappearance is the
 * request. Never resolves when there is no such socket.
 */
export function watchPluginSocket(env: NodeJS.ProcessEnv): Promise<string> {
  const address = env['DOCKER_CLI_PLUGIN_SOCKET'];
  if (address === undefined || address === '') return new Promise<string>(() => undefined);
  const abstract = address.startsWith('@');
  return new Promise<string>((resolve) => {
    let connected = false;
    const socket = connect(abstract ? `\0${address.slice(1)}` : address);
    socket.unref();
    socket.once('connect', () => {
      connected = true;
      socket.resume();
    });
    socket.once('close', () => {
      if (connected) resolve(REASON);
      else if (abstract) void poll(address);
    });
    socket.on('error', () => undefined);

    const poll = async (name: string): Promise<void> => {
      const seen = await abstractSocketExists(name);
      if (seen === null) return;
      if (!seen) {
        resolve(REASON);
        return;
      }
      setTimeout(() => void poll(name), POLL_MS).unref();
    };
  });
}
