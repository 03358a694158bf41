/**
 * The shared I/O service's script: preview2-shim's own I/O worker (dist/io/worker-thread.js) bundled with a few
 * rewrites, so one worker serves every sandbox thread of a pool (io/serve-clients.ts) instead of one each:
 * - synckit's `runAsWorker` (one client, on the worker's parent port) becomes serve-clients.ts's (many clients,
 *   each on its own port, each call run with its client as the async context);
 * - the streams, futures and polls maps record which client made each entry, so a client's are released when its
 *   port closes, and an outgoing request carries its client's abort signal;
 * - an internal error the shim would record for the whole worker is recorded for the client it happened under.
 * Each rewrite checks that the text it replaces is there: a shim version without it fails the bundle, loudly.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as esbuild from 'esbuild';
import { SOURCE_DIR } from '../../package-paths.js';
import { threadScript, type InlinedPackages } from '../runtime/host-script.js';
import { rewriteFiles, type Rewrite } from '../runtime/package-rewrites.js';

const SHIM_PACKAGE = '@bytecodealliance/preview2-shim';
const SERVE_CLIENTS = JSON.stringify(path.join(SOURCE_DIR, 'sandbox', 'io', 'serve-clients.ts'));

const SYNCKIT: Rewrite[] = [['export function runAsWorker(', 'function oneClientRunAsWorker(']];
const WORKER_THREAD: Rewrite[] = [
  ['export const polls = new Map();', 'export const polls = new OwnedMap("polls", () => {});'],
  ['export const streams = new Map();', 'export const streams = new OwnedMap("streams", destroyStream);'],
  ['export const futures = new Map();', 'export const futures = new OwnedMap("futures", () => {});'],
  ['    if (uncaughtException) {\n        throw uncaughtException;\n    }', '    throwRecordedFailure();'],
  ['uncaughtException = new Error("wasi-io trap: poll already ready with listener attached");', 'recordFailure(new Error("wasi-io trap: poll already ready with listener attached"));'],
  ['process.on("uncaughtException", (err) => (uncaughtException = err));', 'process.on("uncaughtException", recordFailure);'],
];
/** Both the http: and the https: request options. */
const WORKER_HTTP: Rewrite[] = [['path: pathWithQuery,', 'path: pathWithQuery, signal: requestSignal(),']];

const plugin: esbuild.Plugin = {
  name: 'shared-io-service',
  setup(build) {
    rewriteFiles(build, SHIM_PACKAGE, 'io/service-bundle.ts', [
      { filter: /preview2-shim[\\/]dist[\\/]synckit[\\/]index\.js$/, rewrites: SYNCKIT, epilogue: `\nexport { runAsWorker } from ${SERVE_CLIENTS};\n` },
      {
        filter: /preview2-shim[\\/]dist[\\/]io[\\/]worker-thread\.js$/,
        rewrites: WORKER_THREAD,
        prelude: `import { OwnedMap, destroyStream, recordFailure, throwRecordedFailure } from ${SERVE_CLIENTS};\n`,
      },
      { filter: /preview2-shim[\\/]dist[\\/]io[\\/]worker-http\.js$/, rewrites: WORKER_HTTP, prelude: `import { requestSignal } from ${SERVE_CLIENTS};\n` },
    ]);
  },
};

const sharedIoService: InlinedPackages = { plugin, packages: [SHIM_PACKAGE] };

/** The shim's worker module, found next to its package entry (the package does not export it). */
function shimWorkerThread(): string {
  const entry = createRequire(import.meta.url).resolve(SHIM_PACKAGE);
  return path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'dist', 'io', 'worker-thread.js');
}

/** The service's bundled script (made once per state of the sources and the shim's version). */
export function ioServiceScript(): Promise<string> {
  return threadScript(shimWorkerThread(), 'io-service', [sharedIoService]);
}
