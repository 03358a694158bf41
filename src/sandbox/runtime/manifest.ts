/**
 * Names and shapes shared by the runtime build, its loader and the sandbox threads. Kept free of imports: the
 * sandbox threads load it, and must not load the build toolchain (binaryen alone costs ~70 MB per thread).
 */

/** The exported i64 global that counts fuel down, and the import the main module's memory comes from. */
export const FUEL_GLOBAL = 'capsule_fuel';
export const MEMORY_IMPORT = { module: 'capsule', name: 'memory' } as const;
export const MAIN_CORE_MODULE = 'runner.core.wasm';
export const GLUE_FILE = 'runner.mjs';
/** The main module with the memory import but no fuel counter; for the metering benchmark only. */
export const UNMETERED_CORE_MODULE = 'runner.core.unmetered.wasm';

export interface RuntimeManifest {
  hash: string;
  coreModules: string[];
  initialMemoryPages: number;
  builtAt: string;
}

export interface BuildJob {
  hash: string;
  outDir: string;
  guestSourcePath: string;
  witPath: string;
}

export type BuildMessage =
  | { kind: 'progress'; step: string; detail: string }
  | { kind: 'done' }
  | { kind: 'failed'; message: string };
