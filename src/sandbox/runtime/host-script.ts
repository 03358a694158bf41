/**
 * Worker threads cannot load TypeScript through tsx or vitest, so code that runs in a worker thread is bundled by
 * esbuild into one ESM file. Package imports stay external but are pinned to absolute file URLs, because the
 * bundle lives in the cache directory, away from node_modules.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const RESOLVING = Symbol('resolving');

/** Keeps packages external, pinned to the file esbuild resolves them to (Node's conditions, from the importer). */
const pinPackagesPlugin: esbuild.Plugin = {
  name: 'pin-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined;
      if (args.path.startsWith('node:') || args.path.startsWith('capsule:')) return { path: args.path, external: true };
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (resolved.external) return { path: args.path, external: true };
      return { path: pathToFileURL(resolved.path).href, external: true };
    });
  },
};

export async function bundleForThread(entry: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    plugins: [pinPackagesPlugin],
    absWorkingDir: path.dirname(entry),
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** Writes `text` to `dir/<name>-<hash>.mjs` once (atomically) and returns the path. */
export function writeContentAddressed(dir: string, name: string, text: string): string {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(dir, `${name}-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file);
  }
  return file;
}
