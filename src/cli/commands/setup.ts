/** `capsule setup`: builds the sandbox runtime now instead of at first use (npm install runs it). */
import { loadRuntime } from '../../sandbox/runtime/runtime.js';
import { EXIT, type CliIO } from '../io.js';

export async function setupCommand(io: CliIO): Promise<number> {
  const runtime = await loadRuntime((line) => io.err(`capsule: ${line}\n`));
  io.err(`capsule: sandbox runtime ${runtime.manifest.hash} ready (${runtime.dir})\n`);
  return EXIT.ok;
}
