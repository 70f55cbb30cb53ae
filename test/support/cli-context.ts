import { Chalk } from 'chalk';
import type { BackendConnection, CliContext } from '../../src/cli/cli-context.js';
import type { Progress, Terminal } from '../../src/cli/terminal.js';
import type { Backend } from '../../src/core/backend.js';
import { systemClock } from '../../src/core/clock.js';

/** A command context for running commands in-process: output is kept, and the backend is the test's. */
export function testContext(backend: Backend, env: NodeJS.ProcessEnv = {}): { context: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const plain = new Chalk({ level: 0 });
  const progress: Progress = {
    update: () => undefined,
    succeed: (text) => (err += `✔ ${text}\n`),
    fail: (text) => (err += `✖ ${text}\n`),
  };
  const terminal: Terminal = {
    out: (text) => (out += text),
    err: (text) => (err += text),
    outIsTty: false,
    errIsTty: false,
    outStyle: plain,
    errStyle: plain,
    withProgress: (_text, task) => task(progress),
  };
  const connection: BackendConnection = { backend, endpoint: backend.endpoint, chosenBy: 'the test', version: 'a test backend' };
  const context: CliContext = {
    terminal,
    env,
    clock: systemClock,
    commandName: 'proxytainer',
    dockerFlags: {},
    connect: () => Promise.resolve(connection),
    shutdownRequested: () => new Promise(() => undefined),
    exitCode: 0,
  };
  return { context, out: () => out, err: () => err };
}
