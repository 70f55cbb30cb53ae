import { connect } from 'node:net';

const REASON = 'the docker CLI asked the plugin to stop (its socket closed)';

/**
 * Resolves when the docker CLI asks its plugin to stop. With stdout not a
 * terminal the CLI forwards no SIGINT/SIGTERM; it closes the socket named in
 * DOCKER_CLI_PLUGIN_SOCKET instead (`@name`, a Linux abstract socket, which
 * Node.js connects to since 22: 20's libuv could not). Never resolves when
 * there is no such socket or it cannot be reached.
 */
export function watchPluginSocket(env: NodeJS.ProcessEnv): Promise<string> {
  const address = env['DOCKER_CLI_PLUGIN_SOCKET'];
  if (address === undefined || address === '') return new Promise<string>(() => undefined);
  return new Promise<string>((resolve) => {
    let connected = false;
    const socket = connect(address.startsWith('@') ? `\0${address.slice(1)}` : address);
    socket.unref();
    socket.once('connect', () => {
      connected = true;
      socket.resume();
    });
    socket.once('close', () => {
      if (connected) resolve(REASON);
    });
    socket.on('error', () => undefined);
  });
}
