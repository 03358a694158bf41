/**
 * Each test in the calling file gets its own empty directory as the Capsule cache (CAPSULE_CACHE_DIR = <root>/cache),
 * so finders and installers that write to the cache never touch the developer's. The variable is restored and the
 * directory removed after each test. Call it at the top level of a test file; `root()` is the current test's directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export function useTemporaryCache(prefix: string): { root(): string } {
  let root: string | undefined;
  let saved: string | undefined;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), prefix));
    saved = process.env.CAPSULE_CACHE_DIR;
    process.env.CAPSULE_CACHE_DIR = path.join(root, 'cache');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.CAPSULE_CACHE_DIR;
    else process.env.CAPSULE_CACHE_DIR = saved;
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  return {
    root: () => {
      if (root === undefined) throw new Error('useTemporaryCache: root() is only available inside a test');
      return root;
    },
  };
}
