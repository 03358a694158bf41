/** Shared test helpers: fixture paths, a sandbox per file, temporary task directories. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTaskFile, Sandbox, type TaskBundle } from '../src/sandbox/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/tasks', name);

const bundles = new Map<string, Promise<TaskBundle>>();
export function fixtureBundle(name: string): Promise<TaskBundle> {
  let bundle = bundles.get(name);
  if (!bundle) bundles.set(name, (bundle = bundleTaskFile(fixture(name))));
  return bundle;
}

/** A fresh directory laid out like a task project: ./data (input.txt) and ./out, plus a secret one level up. */
export function taskDir(): { root: string; base: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-test-'));
  const base = path.join(root, 'project');
  mkdirSync(path.join(base, 'data'), { recursive: true });
  mkdirSync(path.join(base, 'out'), { recursive: true });
  writeFileSync(path.join(base, 'data/input.txt'), 'input for the guest');
  writeFileSync(path.join(root, 'secret.txt'), 'host secret');
  return { root, base, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** One sandbox and one task directory for the whole test file, closed and removed after it. */
export function useSandboxAndDir(): { sandbox: () => Sandbox; dir: () => ReturnType<typeof taskDir> } {
  let sandbox: Sandbox | undefined;
  let dir: ReturnType<typeof taskDir> | undefined;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    dir = taskDir();
  });
  afterAll(async () => {
    await sandbox?.close();
    dir?.cleanup();
  });
  return { sandbox: () => sandbox!, dir: () => dir! };
}
