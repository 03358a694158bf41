/**
 * `capsule setup`: builds the sandbox runtime now instead of at first use (npm install runs it), and with
 * `--temporal` also finds or installs the Temporal CLI for the embedded dev server (CI runs that).
 */
import { findTemporalBinary } from '../../client/binary.js';
import { loadRuntime } from '../../sandbox/index.js';
import { EXIT, type CliIO } from '../io.js';

export interface SetupOptions {
  temporal: boolean;
}

export async function setupCommand(options: SetupOptions, io: CliIO): Promise<number> {
  const runtime = await loadRuntime((line) => io.err(`capsule: ${line}\n`));
  io.err(`capsule: sandbox runtime ${runtime.manifest.hash} ready (${runtime.dir})\n`);
  if (options.temporal) {
    const binary = await findTemporalBinary({ report: (line) => io.err(`capsule: temporal cli: ${line}\n`) });
    io.err(`capsule: Temporal CLI ready (${binary})\n`);
  }
  return EXIT.ok;
}
