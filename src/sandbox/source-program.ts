/**
 * Code given as text — an MCP tool call's `code`, the host API's `capsule.exec({ language, source })`, a pipeline's
 * code step — made into the same thing a task file becomes: a content-addressed bundle that `Sandbox.run` runs in a
 * fresh sandbox. One way to run a guest; what differs is only where the entry and the options come from:
 *
 * - The entry is `main`: a plain `function main(input)` / `def main(input)` (exported or not), or a `task(...)` /
 *   `@task` declaration named main. Code without one is a script: its top level is the whole run, and the caller
 *   decides (RunRequest.withoutMain) whether that is an error or a run whose stdout is the result.
 * - Options come from the caller (RunRequest.options): whatever the code declares is ignored.
 *
 * JavaScript and TypeScript go through the same esbuild settings as task files, from the text itself (no file is
 * written or read): the code owns no files, so the only imports it may name are the sandbox's own modules; every
 * other import is refused at bundling. A syntax error is a BundleError naming the line (invalid_task). Python code
 * travels as the single file of a Python bundle; CPython finds its syntax errors in the guest, with the line.
 */
import { createHash } from 'node:crypto';
import type * as esbuild from 'esbuild';
import { resolveTaskOptions, type ResolvedTaskOptions, type TaskDefaults, type TaskOptionsInput } from '../config/task-options.js';
import { contentAddressed, esbuildBundle, isExternal, type ProgramLanguage, type ProgramRecord, type TaskBundle } from './bundle.js';
import { BundleError } from './errors.js';
import { PROGRAM_MAIN_EXPORT } from './guest/protocol.js';

export interface ProgramSource {
  language: ProgramLanguage;
  /** The code, as text. */
  source: string;
}

export type ProgramBundle = TaskBundle & { program: ProgramRecord };

/** The options a program runs with: a task's options, without the name (a program's entry is always `main`). */
export type ProgramOptions = Omit<TaskOptionsInput, 'name'>;

/** How messages name a program's options (they are its caller's). */
const PROGRAM_OPTIONS = 'options given with the code';

/**
 * A program's task options: the caller's, under the task's name (the code's declarations are never read). Throws
 * TaskOptionsError naming the option.
 */
export function resolveProgramOptions(options: ProgramOptions | undefined, taskName: string, ctx: { baseDir: string; defaults?: TaskDefaults }): ResolvedTaskOptions {
  return resolveTaskOptions({ ...options, name: taskName }, { file: PROGRAM_OPTIONS, baseDir: ctx.baseDir, ...(ctx.defaults === undefined ? {} : { defaults: ctx.defaults }) });
}

/** The largest program accepted, in bytes of UTF-8: programs travel in tool calls and workflow histories. */
export const MAX_PROGRAM_BYTES = 1024 * 1024;

const ENTRY_FILES: Record<ProgramLanguage, string> = { javascript: 'main.js', typescript: 'main.ts', python: 'main.py' };

/**
 * The bundle of a program. Throws BundleError (file "main.js", "main.ts" or "main.py") for code that cannot be
 * bundled: too large, a syntax error with its line and column, an import of anything but the sandbox's modules.
 */
export async function bundleSource(program: ProgramSource): Promise<ProgramBundle> {
  const entryFile = ENTRY_FILES[program.language];
  const size = Buffer.byteLength(program.source);
  if (size > MAX_PROGRAM_BYTES) throw new BundleError(entryFile, `the code is ${size} bytes, more than the ${MAX_PROGRAM_BYTES} a program may have`);
  if (program.source.includes('\0')) throw new BundleError(entryFile, 'the code contains a NUL character');
  const record: ProgramRecord = { language: program.language, sha256: createHash('sha256').update(program.source).digest('hex'), size };
  const code = program.language === 'python'
    ? JSON.stringify({ entry: entryFile, files: { [entryFile]: program.source } })
    : await bundleScript(entryFile, program.language, program.source);
  return { ...contentAddressed(code, entryFile), program: record };
}

async function bundleScript(entryFile: string, language: 'javascript' | 'typescript', source: string): Promise<string> {
  try {
    return await esbuildBundle(entryFile, {
      stdin: {
        // The runner finds `main` through this export, whether or not the code exports it (or declares it at all:
        // `typeof` of an undeclared name is "undefined"). Appended, so the code's own line numbers stay as given.
        contents: `${source}\n;export const ${PROGRAM_MAIN_EXPORT} = typeof main === "function" ? main : undefined;\n`,
        sourcefile: entryFile,
        loader: language === 'typescript' ? 'ts' : 'js',
      },
      plugins: [onlySandboxModules],
    }, (located) => located);
  } catch (error) {
    if (error instanceof BundleError && /top-level await/i.test(error.detail)) {
      throw new BundleError(entryFile, `${error.detail} (put the code in \`async function main(input) { ... }\`; Capsule awaits it)`);
    }
    throw error;
  }
}

/** The code owns no files: the sandbox's modules (capsule, fs, Node built-ins as catchable errors) and nothing else. */
const onlySandboxModules: esbuild.Plugin = {
  name: 'capsule-program-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (isExternal(args.path)) return { path: args.path, external: true };
      return {
        errors: [{ text: `import "${args.path}" is refused: code given as text can import only the sandbox's modules (capsule, fs, fs/promises); put any other code in the text itself` }],
      };
    });
  },
};
