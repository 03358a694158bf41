/**
 * Starts ONE real Temporal dev server (the CLI, in memory, headless) for the whole vitest run and hands its address
 * to the test files. Each test uses its own task queue, so files can share it safely.
 */
import type { TestProject } from 'vitest/node';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalBinary: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binary = await findTemporalBinary({ report: (line) => process.stderr.write(`temporal cli: ${line}\n`) });
  const server = await startDevServer({ binary, headless: true });
  project.provide('temporalAddress', server.address);
  project.provide('temporalBinary', binary);
  return () => server.stop();
}
