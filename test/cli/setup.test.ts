/**
 * `capsule setup` on a machine where the Python runtime cannot be built: explicit runs fail with the remedy;
 * `npm install`'s run (--python-optional) still succeeds, since JavaScript tasks work without Python.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuntime } from '../../src/sandbox/runtime/runtime.js';
import { repoRoot } from '../helpers.js';

const run = promisify(execFile);
let cache: string;

beforeAll(async () => {
  // A cache holding the JavaScript runtime already built (linked, not rebuilt) and no Python toolchain.
  const js = await loadRuntime('js');
  cache = mkdtempSync(path.join(os.tmpdir(), 'capsule-setup-'));
  mkdirSync(path.join(cache, 'runtime'));
  symlinkSync(js.dir, path.join(cache, 'runtime', path.basename(js.dir)));
});
afterAll(() => rmSync(cache, { recursive: true, force: true }));

async function setup(args: string[]) {
  const env = { ...process.env, CAPSULE_CACHE_DIR: cache, CAPSULE_PYTHON: path.join(cache, 'no-such-python3'), NO_COLOR: '1' };
  try {
    const { stderr } = await run(process.execPath, [path.join(repoRoot, 'bin/capsule.js'), 'setup', ...args], { cwd: cache, env });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('capsule setup without a usable Python', () => {
  it('fails, saying what to install, when run directly', async () => {
    const { code, stderr } = await setup([]);
    expect(code).toBe(1);
    expect(stderr).toContain('JavaScript sandbox runtime');
    expect(stderr).toContain('the Python sandbox runtime could not be built');
    expect(stderr).toContain('apt-get install python3 python3-venv');
    expect(stderr).toContain('CAPSULE_PYTHON');
  });

  it('succeeds with --python-optional (npm install), saying Python tasks are not ready', async () => {
    const { code, stderr } = await setup(['--python-optional']);
    expect(code).toBe(0);
    expect(stderr).toContain('the Python sandbox runtime could not be built');
    expect(stderr).toContain('run "npx capsule setup" again once Python is installed');
  });
});
