/** Shared set-up for the Python sandbox tests: one sandbox with the Python runtime loaded, and a task directory. */
import { afterAll, beforeAll } from 'vitest';
import { Sandbox, type Envelope, type RunRequest, type SandboxOptions, type TaskBundle } from '../../../src/sandbox/index.js';
import { fixtureBundle, taskDir } from '../../helpers.js';

/** A Python fixture from test/fixtures/tasks/python. */
export const pyBundle = (file: string): Promise<TaskBundle> => fixtureBundle(`python/${file}`);

export interface PythonSandbox {
  sandbox: () => Sandbox;
  dir: () => ReturnType<typeof taskDir>;
  /** Runs one task of a Python fixture with the task directory as its base directory. */
  run: (file: string, task: string, args?: unknown[], extra?: Partial<RunRequest>) => Promise<Envelope>;
}

/** One sandbox (Python loaded up front) and one task directory (./data, ./out, a secret outside) per test file. */
export function usePythonSandbox(options: SandboxOptions = {}, setup?: (dir: ReturnType<typeof taskDir>) => void): PythonSandbox {
  let sandbox: Sandbox | undefined;
  let dir: ReturnType<typeof taskDir> | undefined;
  beforeAll(async () => {
    sandbox = await Sandbox.create({ ...options, languages: ['python'] });
    dir = taskDir();
    setup?.(dir);
  });
  afterAll(async () => {
    await sandbox?.close();
    dir?.cleanup();
  });
  return {
    sandbox: () => sandbox!,
    dir: () => dir!,
    run: async (file, task, args = [], extra = {}) =>
      sandbox!.run({ bundle: await pyBundle(file), task, args, baseDir: dir!.base, ...extra }),
  };
}
