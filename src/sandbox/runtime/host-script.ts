/**
 * Worker threads cannot load TypeScript through tsx or vitest, so code that runs in a worker thread (or a process
 * forked for a runtime build) is bundled by esbuild into one ESM file. Package imports stay external but are pinned
 * to absolute file URLs, because the bundle lives in the cache directory, away from node_modules. A bundle is made
 * once per state of Capsule's sources: its name carries their stamp (source-stamp.ts), so a process whose sources
 * match finds it without loading esbuild (~50-100 ms it would otherwise spend on every start).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as esbuild from 'esbuild';
import { capsuleCacheDir } from '../../config/paths.js';
import { PACKAGE_ROOT, SOURCE_DIR } from '../../package-paths.js';
import { stampTree } from '../../source-stamp.js';

const RESOLVING = Symbol('resolving');

/** Keeps packages external, pinned to the file esbuild resolves them to (Node's conditions, from the importer). */
const pinPackagesPlugin: esbuild.Plugin = {
  name: 'pin-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      // A resolve asked for by a plugin (this one, or one that inlines a package) gets esbuild's own answer.
      if (args.pluginData !== undefined) return undefined;
      if (args.path.startsWith('node:') || args.path.startsWith('capsule:')) return { path: args.path, external: true };
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (resolved.external) return { path: args.path, external: true };
      return { path: pathToFileURL(resolved.path).href, external: true };
    });
  },
};

/**
 * The bundled script of `entry` (a TypeScript module under src/) in the cache's scripts/ directory, named
 * `<name>-<stamp>.mjs`: made now if these sources have not been bundled before. `inlined`: plugins that bundle
 * some packages into the script (they run before the others are pinned); the versions of those packages are part
 * of the stamp, since the script then carries their code.
 */
export async function threadScript(entry: string, name: string, inlined: InlinedPackages[] = []): Promise<string> {
  const stamp = createHash('sha256').update(`${packageVersion('esbuild')}\n${PACKAGE_ROOT}\n${entry}\n`);
  for (const { plugin, packages } of inlined) stamp.update(`${plugin.name} ${packages.map(packageVersion).join(' ')}\n`);
  stampTree(stamp, SOURCE_DIR, ['.ts', '.json']);
  const file = path.join(capsuleCacheDir(), 'scripts', `${name}-${stamp.digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file)) writeAtomically(file, await bundleForThread(await import('esbuild'), entry, inlined.map((i) => i.plugin)));
  return file;
}

/** An esbuild plugin that bundles `packages` into a thread's script instead of leaving them external. */
export interface InlinedPackages {
  plugin: esbuild.Plugin;
  packages: string[];
}

async function bundleForThread(esbuild: typeof import('esbuild'), entry: string, plugins: esbuild.Plugin[]): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    plugins: [...plugins, pinPackagesPlugin],
    absWorkingDir: path.dirname(entry),
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** `name@version` of an installed package, read from node_modules as Node would find it (walking up from here). */
export function packageVersion(name: string): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return `${name}@${(JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version}`;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the package ${name} in node_modules`);
  }
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}
