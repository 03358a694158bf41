/**
 * Names and shapes shared by the runtime build, its loader and the sandbox threads. Kept free of imports (types
 * aside): the sandbox threads load it, and must not load the build toolchain (binaryen alone costs ~70 MB per thread).
 */
import type { ByteRanges } from './data-ranges.js';

/** The languages tasks are written in; each has one generic runner component. */
export type Language = 'js' | 'python';
export const LANGUAGES: readonly Language[] = ['js', 'python'];
export const LANGUAGE_NAMES: Record<Language, string> = { js: 'JavaScript', python: 'Python' };
/** WebAssembly's page size: memory sizes in manifests and limits are counted in these. */
export const WASM_PAGE_BYTES = 65_536;

/**
 * The i64 global every metered core module imports and counts down (one per run, shared by all the modules of a
 * component), and the import the memory-owning module's memory comes from.
 */
export const FUEL_IMPORT = { module: 'capsule', name: 'fuel' } as const;
export const MEMORY_IMPORT = { module: 'capsule', name: 'memory' } as const;
export const GLUE_FILE = 'runner.mjs';
/** Copies of the metered modules without fuel counters, `<name>.unmetered.wasm`; for the metering benchmark only. */
export const unmeteredName = (module: string) => module.replace(/\.wasm$/, '.unmetered.wasm');

export interface RuntimeManifest {
  language: Language;
  hash: string;
  coreModules: string[];
  /** Modules carrying fuel counters (every module with code of its own). */
  meteredModules: string[];
  /** The module whose memory is the guest's heap (now imported, capped per run). */
  memoryModule: string;
  initialMemoryPages: number;
  /**
   * The bytes of that memory instantiation overwrites with data segments (data-ranges.ts), for the memory recycler.
   * Read at build time: reading the JavaScript runtime's 10,000 segments made every process's runtime load ~10 ms
   * longer (58-62 -> 48-57 ms).
   */
  dataRanges: ByteRanges;
  builtAt: string;
}

export interface BuildJob {
  language: Language;
  hash: string;
  outDir: string;
  witDir: string;
  /** js: the bundled guest script. python: the directories componentize-py takes modules from. */
  guestSourcePath: string;
  pythonPath: string[];
  /** python: how to run componentize-py (a command and the arguments before its own). */
  componentizePy: { command: string; args: string[] } | null;
  /** Write unmetered copies of the metered modules (the metering benchmark's baseline). */
  writeUnmetered: boolean;
}

export type BuildMessage =
  | { kind: 'progress'; step: string; detail: string }
  | { kind: 'done' }
  | { kind: 'failed'; message: string };
