/**
 * `capsule setup`: builds the sandbox runtime now instead of at first use (npm install runs it), and with
 * `--temporal` also finds or installs the Temporal CLI for the embedded dev server (CI runs that).
 */
import { findTemporalBinary } from '../../client/binary.js';
import { processIo, type CommandIo } from '../../client/io.js';
import { loadRuntime } from '../../sandbox/index.js';
import { EXIT } from '../io.js';

export interface SetupOptions {
  temporal: boolean;
}

export async function setupCommand(options: SetupOptions, io: CommandIo = processIo()): Promise<number> {
  const runtime = await loadRuntime((line) => io.err(`capsule: ${line}`));
  io.err(`capsule: sandbox runtime ${runtime.manifest.hash} ready (${runtime.dir})`);
  if (options.temporal) {
    const binary = await findTemporalBinary({ report: (line) => io.err(`capsule: temporal cli: ${line}`) });
    io.err(`capsule: Temporal CLI ready (${binary})`);
  }
  return EXIT.ok;
}
