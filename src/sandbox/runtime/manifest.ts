/** Shapes shared by the runtime loader and its build worker. */
export const MAIN_CORE_MODULE = 'runner.core.wasm';
export const GLUE_FILE = 'runner.mjs';

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
