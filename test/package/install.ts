/**
 * Capsule as a user gets it: `npm pack` of this checkout (which builds dist/ through `prepare`), installed into a
 * fresh directory outside the repository with its own package.json. The install is `npm ci --offline` against a
 * lock file written from this checkout's own (the same versions, every tarball already in the npm cache), so it
 * needs no registry; the built sandbox runtimes and the Temporal CLI come from the shared Capsule cache.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The tools a user's project adds next to Capsule to type-check its files (dev-only in this repository). */
const USER_TOOLS: Record<string, string> = { typescript: '5.9.3', '@types/node': '20.19.43' };
const USER_TOOL_ENTRIES = new Set(['node_modules/typescript', 'node_modules/@types/node', 'node_modules/undici-types']);

export interface Installed {
  /** The temporary root holding the tarball and the project. */
  root: string;
  tarball: string;
  /** The user's project, with Capsule installed. */
  project: string;
}

/** Packs this checkout into a new temporary directory; returns the tarball's path. */
export async function pack(root: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--pack-destination', root, '--json'], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>;
  return path.join(root, info!.filename);
}

/** A project directory `name` under `root` whose package.json depends on the tarball (and the user tools), installed. */
export async function installProject(root: string, tarball: string, name = 'app'): Promise<string> {
  const project = path.join(root, name);
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown> & { dev?: boolean }> };
  const capsule = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string };
  const spec = `file:${path.relative(project, tarball)}`;
  const dependencies = { capsule: spec, ...USER_TOOLS };
  const packages: Record<string, unknown> = { '': { name, dependencies } };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || (entry.dev === true && !USER_TOOL_ENTRIES.has(key))) continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    packages[key] = rest;
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  packages['node_modules/capsule'] = { version: capsule.version, resolved: spec, integrity, license: capsule.license, dependencies: capsule.dependencies, bin: capsule.bin, engines: capsule.engines };
  await run('mkdir', ['-p', project]);
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module', dependencies }, null, 2)}\n`);
  writeFileSync(path.join(project, 'package-lock.json'), `${JSON.stringify({ name, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  return project;
}

export async function packAndInstall(): Promise<Installed> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-package-'));
  const tarball = await pack(root);
  return { root, tarball, project: await installProject(root, tarball) };
}

/** Every file under `dir`, as sorted relative paths. */
export function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(dir, path.join(prefix, entry.name)) : [path.join(prefix, entry.name)]))
    .sort();
}
