import { Option } from 'commander';

/** `--control-socket`, shared by run (where to serve) and status/wake/sleep (where to ask). */
export function controlSocketOption(): Option {
  return new Option('--control-socket <path>', 'the control socket (default: every proxy in the control directory; see the README)').env('PROXYTAINER_CONTROL_SOCKET');
}
