/**
 * Turns a loaded pipeline into the workflow input: checks the graph, bundles every task file once (content-
 * addressed by sha256), validates each step's task options with the sandbox (capability-less evaluation), and
 * refuses inputs larger than Capsule moves (MAX_VALUE_BYTES: the claim-check stores anything over its threshold,
 * so Temporal's 2 MB payload limit does not apply). Any problem is a PipelineError; nothing has been started.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MountError, TaskOptionsError } from '../config/errors.js';
import { jsonSchemaProblem } from '../config/json-schema.js';
import { resolveMount, withMounts } from '../config/mounts.js';
import { GRANT_OPTIONS, LIMIT_OPTIONS, stepOverridesSchema, type LimitOverrides, type ResolvedTaskOptions, type TaskDefaults } from '../config/task-options.js';
import { formatBytes } from '../config/units.js';
import { BundleError, bundleTaskFile, resolveProgramOptions, type TaskBundle } from '../sandbox/index.js';
import { DEFAULT_MAX_LOST_ATTEMPTS, DEFAULT_RETRY_TUNING, MAX_VALUE_BYTES, type BundleRef, type CodeRef, type PipelineInput, type RetryTuning, type StepSpec, type TaskRef } from '../workflows/shared.js';
import { PipelineError } from './errors.js';
import { checkGraph } from './graph.js';
import type { LoadedPipeline } from './load.js';
import type { PipelineDefinition, StepDefinition } from './schema.js';

/** What compile needs from the sandbox: Sandbox.describe. */
export interface TaskDescriber {
  describe(bundle: TaskBundle, ctx: { baseDir: string; defaults?: TaskDefaults; overrides?: LimitOverrides }): Promise<ReadonlyMap<string, ResolvedTaskOptions>>;
}

export interface CompileOptions {
  /** Replaces the file's `input` (from --input). */
  input?: unknown;
  /** Where relative allowedFiles resolve (the directory the command runs in). */
  baseDir: string;
  defaults: TaskDefaults;
  describer: TaskDescriber;
  searchAttributes: boolean;
  /** Mounts for every step (`capsule run --mount`), before each step's own. */
  mounts?: string[];
  /** Called with each task file's absolute path before it is read; throws to refuse it (an MCP server's root). */
  checkTaskFile?: (file: string) => void;
}

export async function compilePipeline(loaded: LoadedPipeline, options: CompileOptions): Promise<PipelineInput> {
  const { file, definition } = loaded;
  const input = options.input !== undefined ? options.input : definition.input ?? {};
  const deps = checkGraph(file, definition, input);
  const retry = retryTuning(definition, options.defaults);
  const bundles = new Map<string, TaskBundle>();
  const steps: StepSpec[] = [];
  for (const [i, step] of definition.steps.entries()) {
    const where = `steps[${i}] (${step.id})`;
    const common = {
      id: step.id,
      input: step.input ?? null,
      dependsOn: deps.get(step.id) ?? [],
      ...(step.forEach === undefined ? {} : { forEach: step.forEach }),
      onFailure: step.onFailure ?? 'fail',
      ...(step.summary === undefined ? {} : { summary: step.summary }),
      ...(step.when === undefined ? {} : { when: step.when }),
    } as const;
    if (step.llm !== undefined) {
      const problem = step.llm.schema === undefined ? undefined : jsonSchemaProblem(step.llm.schema);
      if (problem !== undefined) throw new PipelineError(file, `${where}.llm.schema`, `not a usable JSON Schema: ${problem}`);
      steps.push({ ...common, llm: { ...step.llm, output: step.llm.output ?? 'text' } });
      continue;
    }
    if (step.approval !== undefined) {
      const { prompt, timeout, onTimeout } = step.approval;
      steps.push({ ...common, approval: { prompt, ...(timeout === undefined ? {} : { timeoutMs: timeout }), onTimeout: onTimeout ?? 'reject' } });
      continue;
    }
    if (step.code !== undefined) {
      steps.push({ ...common, code: { ...compileCode(file, where, step, options, retry), source: step.code } });
      continue;
    }
    const field = `${where}.task`;
    const { taskFile, exportName } = parseTaskRef(file, field, step.task!);
    options.checkTaskFile?.(taskFile);
    let bundle = bundles.get(taskFile);
    if (bundle === undefined) {
      bundle = await bundleChecked(file, field, taskFile);
      bundles.set(taskFile, bundle);
    }
    const overrides = overridesOf(step);
    const resolved = await resolveOptions(options, file, field, bundle, overrides);
    const task = resolved.get(exportName);
    if (task === undefined) {
      const have = [...resolved.keys()];
      throw new PipelineError(file, field, `${step.task} has no task "${exportName}" (it exports: ${have.length === 0 ? 'no tasks' : have.join(', ')})`);
    }
    const mounts = checkMounts(file, `${where}.mounts`, [...(options.mounts ?? []), ...(step.mounts ?? [])], options.baseDir, task);
    steps.push({
      ...common,
      task: {
        bundle: bundle.sha256,
        task: exportName,
        options: task,
        maxLostAttempts: step.maxLostAttempts ?? retry.maxLostAttempts,
        ...(mounts.length === 0 ? {} : { mounts }),
      },
    });
  }
  const refs: Record<string, BundleRef> = Object.fromEntries([...bundles.values()].map((b) => [b.sha256, b]));
  const result: PipelineInput = {
    name: definition.name,
    source: file,
    input,
    steps,
    ...(definition.output === undefined ? {} : { output: definition.output }),
    bundles: refs,
    baseDir: options.baseDir,
    defaults: options.defaults,
    retry,
    searchAttributes: options.searchAttributes,
  };
  checkSize(file, result, [...bundles.values()]);
  return result;
}

/**
 * For hand-written workflows: bundles and validates tasks given as { key: "path/to/task.ts#name" } (paths relative
 * to `baseDir`), returning what TaskWorkflowInput needs. `source` names the caller in error messages.
 */
export async function compileTasks(
  source: string,
  refs: Record<string, string>,
  options: Omit<CompileOptions, 'input'> & { maxLostAttempts: number },
): Promise<{ bundles: Record<string, BundleRef>; tasks: Record<string, TaskRef> }> {
  const bundles: Record<string, BundleRef> = {};
  const tasks: Record<string, TaskRef> = {};
  const anchor = path.join(options.baseDir, '(tasks)');
  for (const [key, ref] of Object.entries(refs)) {
    const field = `tasks.${key}`;
    const { taskFile, exportName } = parseTaskRef(anchor, field, ref);
    const bundle = await bundleChecked(source, field, taskFile);
    bundles[bundle.sha256] = bundle;
    const resolved = (await resolveOptions(options, source, field, bundle, undefined)).get(exportName);
    if (resolved === undefined) throw new PipelineError(source, field, `${ref} has no task "${exportName}"`);
    tasks[key] = { bundle: bundle.sha256, task: exportName, options: resolved, maxLostAttempts: options.maxLostAttempts };
  }
  return { bundles, tasks };
}

function parseTaskRef(file: string, field: string, ref: string): { taskFile: string; exportName: string } {
  const hash = ref.lastIndexOf('#');
  const filePart = hash === -1 ? ref : ref.slice(0, hash);
  const exportName = hash === -1 ? 'main' : ref.slice(hash + 1);
  if (exportName === '' || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(exportName)) {
    throw new PipelineError(file, field, `"${ref}": expected "path/to/task.ts", "path/to/task.py" or "path/to/task.ts#exportName"`);
  }
  const taskFile = path.resolve(path.dirname(file), filePart);
  if (!existsSync(taskFile)) throw new PipelineError(file, field, `task file "${filePart}" not found (looked for ${taskFile})`);
  return { taskFile, exportName };
}

async function bundleChecked(file: string, field: string, taskFile: string): Promise<TaskBundle> {
  let bundle: TaskBundle;
  try {
    bundle = await bundleTaskFile(taskFile);
  } catch (error) {
    if (error instanceof BundleError) throw new PipelineError(file, field, error.message);
    throw error;
  }
  // Refused before the sandbox loads it: describing a bundle this large would take as much memory as running it.
  const size = Buffer.byteLength(bundle.code);
  if (size > MAX_VALUE_BYTES) throw new PipelineError(file, field, `${taskFile} bundles to ${formatBytes(size)}, more than Capsule moves (${formatBytes(MAX_VALUE_BYTES)}): read large data from allowedFiles instead of importing it`);
  return bundle;
}

/** The options of every task of the bundle, resolved once here: the workflow input carries them to the worker. */
async function resolveOptions(options: CompileOptions, file: string, field: string, bundle: TaskBundle, overrides: LimitOverrides | undefined) {
  try {
    return await options.describer.describe(bundle, { baseDir: options.baseDir, defaults: options.defaults, ...(overrides === undefined ? {} : { overrides }) });
  } catch (error) {
    if (error instanceof TaskOptionsError) throw new PipelineError(file, field, error.message);
    throw error;
  }
}

/**
 * Each mount must name an existing directory of the project and fit the task's own directories now: a typo fails
 * here, before anything starts (the worker checks them again where it runs).
 */
function checkMounts(file: string, field: string, mounts: string[], baseDir: string, task: ResolvedTaskOptions): string[] {
  try {
    withMounts(task.allowedFiles, mounts.map((mount) => resolveMount(mount, baseDir)));
  } catch (error) {
    if (error instanceof MountError) throw new PipelineError(file, field, error.message);
    throw error;
  }
  return mounts;
}

/**
 * A code step's options: limits and capabilities come from the step alone (the code's own declarations are never
 * read), checked now as a task's would be, so a bad one fails before anything starts.
 */
function compileCode(file: string, where: string, step: StepDefinition, options: CompileOptions, retry: RetryTuning): CodeRef {
  const written = Object.fromEntries(CODE_OPTIONS.filter((key) => step[key] !== undefined).map((key) => [key, step[key]]));
  let resolved: ResolvedTaskOptions;
  try {
    resolved = resolveProgramOptions(written, 'main', { baseDir: options.baseDir, defaults: options.defaults });
  } catch (error) {
    if (error instanceof TaskOptionsError) throw new PipelineError(file, `${where}.${error.option ?? 'code'}`, error.detail);
    throw error;
  }
  const mounts = checkMounts(file, `${where}.mounts`, [...(options.mounts ?? []), ...(step.mounts ?? [])], options.baseDir, resolved);
  return {
    language: step.language!,
    options: written,
    timeout: resolved.timeout,
    maxRetries: resolved.maxRetries,
    maxLostAttempts: step.maxLostAttempts ?? retry.maxLostAttempts,
    ...(mounts.length === 0 ? {} : { mounts }),
  };
}

/** The task options a code step may set: limits and grants (a task step's grants are its file's declaration). */
const CODE_OPTIONS = [...LIMIT_OPTIONS, ...GRANT_OPTIONS] as const;

/** The options a step sets (stepOverridesSchema's keys), as the pipeline file wrote them. */
function overridesOf(step: StepDefinition): LimitOverrides | undefined {
  const set = Object.keys(stepOverridesSchema.shape).filter((key) => step[key as keyof LimitOverrides] !== undefined);
  return set.length === 0 ? undefined : Object.fromEntries(set.map((key) => [key, step[key as keyof LimitOverrides]]));
}

/** The pipeline's `retry:` over capsule.toml's `[tasks]` defaults over the built-in ones. */
function retryTuning(definition: PipelineDefinition, defaults: TaskDefaults): RetryTuning {
  const r = definition.retry ?? {};
  return {
    initialIntervalMs: r.initialInterval ?? DEFAULT_RETRY_TUNING.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient ?? DEFAULT_RETRY_TUNING.backoffCoefficient,
    maximumIntervalMs: r.maximumInterval ?? DEFAULT_RETRY_TUNING.maximumIntervalMs,
    heartbeatTimeoutMs: r.heartbeatTimeout ?? DEFAULT_RETRY_TUNING.heartbeatTimeoutMs,
    maxLostAttempts: r.maxLostAttempts ?? defaults.maxLostAttempts ?? DEFAULT_MAX_LOST_ATTEMPTS,
  };
}

function checkSize(file: string, input: PipelineInput, bundles: TaskBundle[]): void {
  const size = Buffer.byteLength(JSON.stringify(input));
  if (size <= MAX_VALUE_BYTES) return;
  const largest = [...bundles].sort((a, b) => b.code.length - a.code.length).slice(0, 3)
    .map((b) => `${path.relative(path.dirname(file), b.entryFile)} ${formatBytes(Buffer.byteLength(b.code))}`).join(', ');
  throw new PipelineError(
    file,
    undefined,
    `the workflow input would be ${formatBytes(size)} (bundled tasks: ${largest}), more than Capsule moves (${formatBytes(MAX_VALUE_BYTES)}). ` +
      'Make task bundles smaller (avoid large dependencies or inlined data; read data from allowedFiles instead) or pass less input.',
  );
}
