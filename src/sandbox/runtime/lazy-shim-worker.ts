/**
 * preview2-shim starts its own I/O worker (a second Node worker thread, its own V8 isolate: ~8.8 MB RSS and ~80 ms)
 * the moment any of its modules is imported, and every sandbox thread imports it. That worker serves only blocking
 * I/O the host does not answer itself (a guest's HTTP, polls mixing a real pollable with timers). So the sandbox
 * thread's script carries its own copy of the shim (bundled, not an external package) whose blocking call is
 * io/client.ts's: at its first call it connects to the pool's one shared I/O service (io/service.ts) instead of
 * starting a worker of its own. Nothing else about the shim changes; other scripts keep the package as it is.
 */
import path from 'node:path';
import type * as esbuild from 'esbuild';
import { SOURCE_DIR } from '../../package-paths.js';
import type { InlinedPackages } from './host-script.js';
import { rewriteFiles, type FileRewrite } from './package-rewrites.js';

const SHIM_PACKAGE = '@bytecodealliance/preview2-shim';
const INLINING = Symbol('inlining-shim');
const IO_CLIENT = JSON.stringify(path.join(SOURCE_DIR, 'sandbox', 'io', 'client.ts'));

/**
 * synckit's `createSyncFn` (which starts the worker) is renamed out of the way, and io/client.ts's exported in its
 * place: the shim calls it as before and gets the same blocking call, served by the shared service.
 */
const SYNCKIT: FileRewrite = {
  filter: /preview2-shim[\\/]dist[\\/]synckit[\\/]index\.js$/,
  rewrites: [['export function createSyncFn(', 'function ownWorkerCreateSyncFn(']],
  epilogue: `\nexport { createSyncFn } from ${IO_CLIENT};\n`,
};

/** The shim's finalizers are reported to io/client.ts, which cancels a run's at its end (client.ts's endRun). */
const REGISTER = 'finalizationRegistry.register(resource, finalizer, finalizer);';
const UNREGISTER = 'finalizationRegistry.unregister(finalizer);';
const WORKER_IO: FileRewrite = {
  filter: /preview2-shim[\\/]dist[\\/]io[\\/]worker-io\.js$/,
  rewrites: [[REGISTER, `${REGISTER} trackDispose(finalizationRegistry, finalizer);`], [UNREGISTER, `${UNREGISTER} untrackDispose(finalizer);`]],
  prelude: `import { trackDispose, untrackDispose } from ${IO_CLIENT};\n`,
};

/** Bundles the shim into the script, its blocking calls going to the pool's shared I/O service. */
const plugin: esbuild.Plugin = {
  name: 'lazy-shim-worker',
  setup(build) {
    build.onResolve({ filter: /^@bytecodealliance\/preview2-shim(\/|$)/ }, async (args) => {
      if (args.pluginData !== undefined) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: INLINING });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
    });
    rewriteFiles(build, SHIM_PACKAGE, 'runtime/lazy-shim-worker.ts', [SYNCKIT, WORKER_IO]);
  },
};

export const lazyShimWorker: InlinedPackages = { plugin, packages: [SHIM_PACKAGE] };
