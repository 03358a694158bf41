/**
 * Where Capsule's own files are. Capsule runs either from its TypeScript sources (a checkout, through tsx or
 * vitest) or compiled (dist/, what an installed package runs). Code runs from CODE_DIR; files that are never
 * compiled by tsc (the guest runners bundled by componentize-js, the WIT, the Python SDK, the scripts esbuild
 * bundles for worker threads and the runtime build) are always read from SOURCE_DIR, which the package ships, so
 * both ways hash them alike and share one built runtime in the cache.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/** src/ in a checkout, dist/ in an installed package: where the running modules are. */
export const CODE_DIR = path.dirname(here);

/** The package's root (the directory holding its package.json). */
export const PACKAGE_ROOT = path.dirname(CODE_DIR);

/** Capsule's TypeScript sources, shipped in the package: the resources nothing compiles ahead of time. */
export const SOURCE_DIR = path.join(PACKAGE_ROOT, 'src');

/** The extension of the running modules: ".ts" from the sources, ".js" compiled. */
export const CODE_EXTENSION = path.extname(here);
