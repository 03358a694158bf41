/**
 * preview2-shim starts its I/O worker (a second Node worker thread, its own V8 isolate: ~10 MB RSS and ~80 ms)
 * the moment any of its modules is imported, and every sandbox thread imports it. Most runs never reach it: it
 * serves only blocking I/O the host does not answer itself (a guest's HTTP, timers, polls). So the sandbox thread's
 * script carries its own copy of the shim (bundled, not an external package) in which the worker starts at the
 * first call that needs it. Nothing else about the shim changes; other scripts keep the package as it is.
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import type * as esbuild from 'esbuild';
import type { InlinedPackages } from './host-script.js';

const SHIM_PACKAGE = '@bytecodealliance/preview2-shim';
const INLINING = Symbol('inlining-shim');

/** Text in the shim that the patches below rewrite; a shim version without it fails the bundle, loudly. */
const EAGER_SYNC_FN = 'export function createSyncFn(';
const WORKER_URL = 'new URL("./worker-thread.bundle.js", import.meta.url)';

/**
 * synckit's `createSyncFn` creates the worker and returns the blocking call; renamed, and wrapped in one that
 * creates it at the first call (the same worker, the same protocol, from then on).
 */
function lazySyncFn(source: string, file: string): string {
  if (!source.includes(EAGER_SYNC_FN)) throw new Error(`${file}: ${SHIM_PACKAGE} no longer defines createSyncFn as expected; update lazy-shim-worker.ts`);
  return `${source.replace(EAGER_SYNC_FN, 'function eagerCreateSyncFn(')}
export function createSyncFn(createWorker, debug, callbackHandler) {
    let call;
    return (...args) => (call ??= eagerCreateSyncFn(createWorker, debug, callbackHandler))(...args);
}
`;
}

/** The worker's script is found next to the shim's module; bundled, that module lives in the cache directory. */
function pinnedWorkerUrl(source: string, file: string): string {
  if (!source.includes(WORKER_URL)) throw new Error(`${file}: ${SHIM_PACKAGE} no longer starts its worker as expected; update lazy-shim-worker.ts`);
  const workerUrl = pathToFileURL(path.join(path.dirname(file), 'worker-thread.bundle.js')).href;
  return source.replace(WORKER_URL, `new URL(${JSON.stringify(workerUrl)})`);
}

/** Bundles the shim into the script, with its I/O worker started on first use. */
const plugin: esbuild.Plugin = {
  name: 'lazy-shim-worker',
  setup(build) {
    build.onResolve({ filter: /^@bytecodealliance\/preview2-shim(\/|$)/ }, async (args) => {
      if (args.pluginData !== undefined) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: INLINING });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
    });
    const patch = (rewrite: (source: string, file: string) => string) => async (args: esbuild.OnLoadArgs) => {
      const { readFile } = await import('node:fs/promises');
      return { contents: rewrite(await readFile(args.path, 'utf8'), args.path), loader: 'js' as const };
    };
    build.onLoad({ filter: /preview2-shim[\\/]dist[\\/]synckit[\\/]index\.js$/ }, patch(lazySyncFn));
    build.onLoad({ filter: /preview2-shim[\\/]dist[\\/]io[\\/]worker-io\.js$/ }, patch(pinnedWorkerUrl));
  },
};

export const lazyShimWorker: InlinedPackages = { plugin, packages: [SHIM_PACKAGE] };
