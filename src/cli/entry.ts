import { systemClock } from '../core/clock.js';
import type { CliContext } from './cli-context.js';
import { main, shutdownOnSignals } from './main.js';
import { processTerminal } from './terminal.js';

const context: CliContext = {
  terminal: processTerminal(),
  env: process.env,
  clock: systemClock,
  shutdownRequested: shutdownOnSignals,
  exitCode: 0,
};

process.exitCode = await main(process.argv.slice(2), context);
