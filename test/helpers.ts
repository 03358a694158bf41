/** Shared test helpers: fixture paths, a sandbox per file, temporary task directories. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTaskFile, envelopeSchema, Sandbox, type Envelope, type TaskBundle } from '../src/sandbox/index.js';

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

/**
 * What the hello fixtures (hello.ts, python/hello.py: the same task in both languages) must return for
 * ('Ada', { n: 1 }) under their LOW / 64MB options: the same envelope whatever the language.
 */
export function expectHelloEnvelope(envelope: Envelope): void {
  expect(envelopeSchema.parse(envelope)).toEqual(envelope);
  expect(envelope.success).toBe(true);
  expect(envelope.error).toBeNull();
  expect(envelope.result).toEqual({ args: ['Ada', { n: 1 }], greeting: 'hello Ada' });
  expect(envelope.execution).toMatchObject({
    task_name: 'main',
    retries: 0,
    fuel_limit: 100_000_000,
    ram_limit: 64 * 1024 * 1024,
    stdout: 'hello from the guest\n',
    stderr: 'a line on stderr\n',
    truncated: false,
    host_requests: [],
    denials: [],
  });
  expect(envelope.execution.fuel_consumed).toBeGreaterThan(0);
  expect(envelope.execution.fuel_consumed).toBeLessThan(100_000_000);
  expect(envelope.execution.ram_used).toBeGreaterThan(0);
  expect(envelope.execution.ram_used).toBeLessThanOrEqual(64 * 1024 * 1024);
}
