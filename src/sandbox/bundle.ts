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
import { collectPythonSource } from './bundle-python.js';
import { BundleError, PythonBundleError } from './errors.js';
import type { Language } from './runtime/manifest.js';

export interface TaskBundle {
  sha256: string;
  code: string;
  /** The task file, as given (for messages). */
  entryFile: string;
}

const SANDBOX_MODULES = ['capsule', '@capsule-run/sdk', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises'];
const EXTERNAL = new Set([...SANDBOX_MODULES, ...builtinModules]);
/** Stays an import in the bundle (inside the guest: the sandbox's module, or a catchable "not available"). */
const isExternal = (specifier: string) =>
  specifier.startsWith('node:') || EXTERNAL.has(specifier) || builtinModules.includes(specifier.split('/')[0]!);
const JS_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.tsx', '.jsx'];
const PYTHON_EXTENSIONS = ['.py'];

/** A task's language follows from its file name, so a bundle (and a pipeline step in history) needs no more. */
export function taskLanguage(entryFile: string): Language {
  return PYTHON_EXTENSIONS.includes(path.extname(entryFile)) ? 'python' : 'js';
}

export async function bundleTaskFile(file: string): Promise<TaskBundle> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) throw new BundleError(file, 'no such file');
  const extension = path.extname(absolute);
  if (PYTHON_EXTENSIONS.includes(extension)) return bundlePython(file, absolute);
  if (!JS_EXTENSIONS.includes(extension)) {
    throw new BundleError(file, `expected a TypeScript, JavaScript or Python task file (${[...JS_EXTENSIONS, ...PYTHON_EXTENSIONS].join(', ')})`);
  }
  let result: esbuild.BuildResult<{ write: false }>;
  try {
    result = await esbuild.build({
      entryPoints: [absolute],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      // Every import goes through the plugin, which admits only the task's own files and declared dependencies.
      plugins: [confineToTask(absolute, isExternal)],
      // Not read from the task's directory: a tsconfig.json could `extends` any host file (or be a FIFO that blocks
      // the bundler). Task code is module code, so strict, as ES modules always are.
      tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
      // Paths in the output's comments are relative to this: the task's own directory keeps the bundle (and its
      // sha256) the same wherever the command runs.
      absWorkingDir: path.dirname(absolute),
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
    const located = first.location ? path.relative(process.cwd(), path.resolve(path.dirname(absolute), first.location.file)) : '';
    const where = first.location ? `${located}:${first.location.line}:${first.location.column}: ` : '';
    throw new BundleError(file, `cannot bundle: ${where}${first.text}`);
  }
  return contentAddressed(result.outputFiles[0]!.text, file);
}

function contentAddressed(code: string, entryFile: string): TaskBundle {
  return { sha256: createHash('sha256').update(code).digest('hex'), code, entryFile };
}

function bundlePython(file: string, absolute: string): TaskBundle {
  let code: string;
  try {
    code = JSON.stringify(collectPythonSource(absolute));
  } catch (error) {
    if (error instanceof PythonBundleError) throw new BundleError(file, error.message, error);
    throw new BundleError(file, `cannot read the task's files: ${(error as Error).message}`, error as Error);
  }
  return contentAddressed(code, file);
}
