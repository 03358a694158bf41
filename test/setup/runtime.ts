/** Builds the sandbox runtime once before any test file starts, so parallel files don't race to build it. */
import { loadRuntime } from '../../src/sandbox/runtime/runtime.js';

export default async function setup(): Promise<void> {
  await loadRuntime((line) => process.stderr.write(`[setup] ${line}\n`));
}
