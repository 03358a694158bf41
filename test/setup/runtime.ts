/** Builds the sandbox runtimes once before any test file starts, so parallel files don't race to build them. */
import { loadRuntime } from '../../src/sandbox/runtime/runtime.js';

export default async function setup(): Promise<void> {
  const report = (line: string) => process.stderr.write(`[setup] ${line}\n`);
  await loadRuntime('js', report);
  await loadRuntime('python', report);
}
