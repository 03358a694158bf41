/**
 * Capsule as a user runs it once installed: the package's compiled JavaScript. bin/capsule.js runs dist/ only when
 * there is no tsconfig.json next to src/ (a checkout runs its TypeScript through tsx), so whole-process benchmarks
 * build dist/ and stage the package's files in a directory of their own, with the checkout's node_modules linked in
 * (the dependencies an install would bring).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface InstalledPackage {
  /** The staged package's root (package.json, bin/, dist/, src/, node_modules -> the checkout's). */
  dir: string;
  /** bin/capsule.js inside it: run it with `node`. */
  bin: string;
  close(): void;
}

/** Builds dist/ (`npm run build`) and stages the package as an install lays it out; close() removes the copy. */
export function stageInstalledPackage(options: { build?: boolean } = {}): InstalledPackage {
  if (options.build ?? true) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-installed-'));
  try {
    for (const entry of ['package.json', 'bin', 'dist', 'src']) cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    // What the staging is, for whoever finds it left behind after a crash.
    writeFileSync(path.join(dir, 'STAGED.txt'), `a staged install of ${REPO} (bench/installed.ts); safe to delete\n`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, bin: path.join(dir, 'bin', 'capsule.js'), close: () => rmSync(dir, { recursive: true, force: true }) };
}
