/**
 * Turns a task file into the one source a sandbox evaluates. JavaScript and TypeScript: one script, TypeScript
 * compiled on the host, relative and npm imports inlined by esbuild. Python: the file and its local modules
 * (bundle-python.ts). The sandbox's own modules (`capsule`, `fs`, ...) and every Node built-in stay
 * external: inside the guest they resolve to the sandbox's versions or fail as a catchable error.
 * The bundle is content-addressed (sha256), so the exact code that ran can be named and cached.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { confineToTask } from './bundle-confine.js';
import { collectPythonSource, type PythonSource } from './bundle-python.js';
import { BundleError, PythonBundleError } from './errors.js';
import { PYTHON_EXTENSIONS } from './task-language.js';

export interface TaskBundle {
  sha256: string;
  code: string;
  /** The task file, as given (for messages); for a program, "main" with its language's extension. */
  entryFile: string;
  /**
   * Present when the bundle is code given as text (source-program.ts): what was given. Its entry is `main`, and it
   * runs with its caller's options, never with any it declares.
   */
  program?: ProgramRecord;
}

/** What a program's record keeps of the text it was given (the bundle's own sha256 is of the bundled code). */
export interface ProgramRecord {
  language: ProgramLanguage;
  /** sha256 of the source text, hex. */
  sha256: string;
  /** Bytes of the source text (UTF-8). */
  size: number;
}

export const PROGRAM_LANGUAGES = ['javascript', 'typescript', 'python'] as const;
export type ProgramLanguage = (typeof PROGRAM_LANGUAGES)[number];

const SANDBOX_MODULES = ['capsule', '@capsule-run/sdk', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises'];
const EXTERNAL = new Set([...SANDBOX_MODULES, ...builtinModules]);
/** Stays an import in the bundle (inside the guest: the sandbox's module, or a catchable "not available"). */
export const isExternal = (specifier: string) =>
  specifier.startsWith('node:') || EXTERNAL.has(specifier) || builtinModules.includes(specifier.split('/')[0]!);
const JS_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.tsx', '.jsx'];

/** `file` as given (relative to `cwd`, the directory the command runs in), which messages and the bundle name. */
export async function bundleTaskFile(file: string, cwd = process.cwd()): Promise<TaskBundle> {
  return (await bundleTaskFileReading(file, cwd)).bundle;
}

/** A task file's bundle and every file read to make it (absolute paths): a cache of bundles checks them. */
export async function bundleTaskFileReading(file: string, cwd: string): Promise<{ bundle: TaskBundle; read: string[] }> {
  const absolute = path.resolve(cwd, file);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) throw new BundleError(file, 'no such file');
  const extension = path.extname(absolute);
  if (PYTHON_EXTENSIONS.includes(extension)) return bundlePython(file, absolute);
  if (!JS_EXTENSIONS.includes(extension)) {
    throw new BundleError(file, `expected a TypeScript, JavaScript or Python task file (${[...JS_EXTENSIONS, ...PYTHON_EXTENSIONS].join(', ')})`);
  }
  const read = new Set<string>([absolute]);
  const code = await esbuildBundle(file, {
    entryPoints: [absolute],
    // Every import goes through the plugin, which admits only the task's own files and declared dependencies.
    plugins: [confineToTask(absolute, isExternal, read)],
    // Paths in the output's comments are relative to this: the task's own directory keeps the bundle (and its
    // sha256) the same wherever the command runs.
    absWorkingDir: path.dirname(absolute),
  }, (located) => path.relative(cwd, path.resolve(path.dirname(absolute), located)));
  return { bundle: contentAddressed(code, file), read: [...read] };
}

/**
 * esbuild with the settings every JavaScript/TypeScript bundle gets (task files and programs alike): one CommonJS
 * script for the runner's `new Function`, ES2022, strict, no tsconfig.json, `import()` as `require()`. `entry` says
 * what to bundle and with which plugin; `shown` turns a location's file into what a message names.
 */
export async function esbuildBundle(
  file: string,
  entry: Pick<esbuild.BuildOptions, 'entryPoints' | 'stdin' | 'plugins' | 'absWorkingDir'>,
  shown: (located: string) => string,
): Promise<string> {
  let result: esbuild.BuildResult<{ write: false }>;
  try {
    result = await esbuild.build({
      ...entry,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      // Not read from the task's directory: a tsconfig.json could `extends` any host file (or be a FIFO that blocks
      // the bundler). Task code is module code, so strict, as ES modules always are.
      tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
      logLevel: 'silent',
      legalComments: 'none',
      charset: 'utf8',
      // `import('x')` becomes a `require('x')`, so an unavailable module fails as a catchable error in the guest.
      supported: { 'dynamic-import': false },
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    const first = failure.errors?.[0];
    if (!first) throw new BundleError(file, String(error));
    const where = first.location ? `${shown(first.location.file)}:${first.location.line}:${first.location.column}: ` : '';
    throw new BundleError(file, `cannot bundle: ${where}${first.text}`);
  }
  return result.outputFiles[0]!.text;
}

export function contentAddressed(code: string, entryFile: string): TaskBundle {
  return { sha256: createHash('sha256').update(code).digest('hex'), code, entryFile };
}

function bundlePython(file: string, absolute: string): { bundle: TaskBundle; read: string[] } {
  let source: PythonSource;
  try {
    source = collectPythonSource(absolute);
  } catch (error) {
    if (error instanceof PythonBundleError) throw new BundleError(file, error.message, error);
    throw new BundleError(file, `cannot read the task's files: ${(error as Error).message}`, error as Error);
  }
  const root = path.dirname(absolute);
  return { bundle: contentAddressed(JSON.stringify(source), file), read: Object.keys(source.files).map((key) => path.join(root, key)) };
}
