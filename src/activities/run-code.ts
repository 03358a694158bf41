/**
 * One attempt of a code step: source text an earlier step produced, run as a program (sandbox/source-program.ts) in
 * a fresh sandbox with the options the pipeline gave the step. The code cannot grant itself anything: a program's
 * options are its caller's, and whatever the code declares with `task(...)` / `@task` is never used. The record
 * names the declared options that differed, so a reader of the step sees what the code asked for and did not get.
 */
import { GRANT_OPTIONS, LIMIT_OPTIONS, type ResolvedTaskOptions, type TaskDefaults } from '../config/task-options.js';
import { BundleError, bundleSource, invalidTaskEnvelope, resolveProgramOptions, type Envelope, type ProgramBundle, type RunRequest } from '../sandbox/index.js';
import type { CodeRecord, CodeRef } from '../workflows/shared.js';
import type { TaskRunner } from './run-task.js';

/** What the attempt passes every run: its arguments, context, mounts, progress and cancellation. */
export type CommonRun = Omit<RunRequest, 'bundle' | 'task' | 'resolved' | 'options'> & { baseDir: string; defaults?: TaskDefaults };

export async function runCode(sandbox: TaskRunner, ref: CodeRef, source: string, common: CommonRun): Promise<{ envelope: Envelope; record: CodeRecord | undefined }> {
  let bundle: ProgramBundle;
  try {
    bundle = await bundleSource({ language: ref.language, source });
  } catch (error) {
    // A syntax error (with its line) or a refused import: the same code would fail again, so invalid_task.
    if (error instanceof BundleError) return { envelope: invalidTaskEnvelope('main', error.message), record: undefined };
    throw error;
  }
  const ignored = DECLARES.test(source) ? await ignoredOptions(sandbox, bundle, ref, common) : [];
  const record: CodeRecord = { ...bundle.program, ...(ignored.length === 0 ? {} : { ignored_options: ignored }) };
  const envelope = await sandbox.run({ ...common, bundle, options: ref.options, withoutMain: 'invalid_task' });
  return { envelope, record };
}

/**
 * Code that never calls task() / uses @task declares nothing: only code that might is described (which costs one
 * more guest run), so a plain `def main` / `function main` runs once.
 */
const DECLARES = /\btask\s*\(|@task\b/;

/**
 * The options the code's own `main` declaration sets to something other than what the step runs it with. Reading
 * the declaration runs the code's top level in a capability-less guest (Sandbox.describe, as for any task file);
 * code that declares nothing, or whose declaration cannot be read, has nothing to report.
 */
async function ignoredOptions(sandbox: TaskRunner, bundle: ProgramBundle, ref: CodeRef, common: CommonRun): Promise<string[]> {
  if (sandbox.describe === undefined) return [];
  const { program: _program, ...asTaskFile } = bundle;
  let declared: ResolvedTaskOptions | undefined;
  try {
    declared = (await sandbox.describe(asTaskFile, { baseDir: common.baseDir, ...(common.defaults === undefined ? {} : { defaults: common.defaults }) })).get('main');
  } catch {
    return [];
  }
  if (declared === undefined) return [];
  const granted = resolveProgramOptions(ref.options, 'main', { baseDir: common.baseDir, ...(common.defaults === undefined ? {} : { defaults: common.defaults }) });
  return [...LIMIT_OPTIONS, ...GRANT_OPTIONS].filter((option) => JSON.stringify(declared[option]) !== JSON.stringify(granted[option]));
}
