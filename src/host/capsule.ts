/**
 * The host API: Capsule from an application's own code, in-process (no CLI subprocess).
 *
 *   const capsule = await Capsule.connect();
 *   const env = await capsule.exec('./tasks/hello.ts', { name: 'Ada' });
 *   const run = await capsule.run('./pipeline.yaml', { topic: 'wasm' });
 *   for await (const event of run.progress()) console.log(event);
 *   console.log(await run.result());
 *   await capsule.close();
 *
 * `exec` needs no Temporal: it runs in this process's sandbox pool, whose threads stay warm between calls. `run`
 * and `start` go through the same parts as `capsule run` (client/backend.ts, submit.ts, task-workflow.ts): the
 * server comes from TEMPORAL_* / temporal.toml / capsule.toml, else a `capsule dev` serving the directory, else the
 * embedded dev server (data in ./.capsule) with a worker in this process. A configured server is reached by
 * connect() itself (an unreachable one fails there); the embedded one starts with the first run or start, so a
 * process that only calls exec never starts a server. close() stops only what this Capsule started.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openBackend, type Backend } from '../client/backend.js';
import { resolveConnectionConfig, workflowUrl } from '../client/config.js';
import { preparePipelineFromSource, startPipeline } from '../client/submit.js';
import { checkWorkflowType, prepareTaskWorkflow, startPreparedTaskWorkflow } from '../client/task-workflow.js';
import { checkWorkflowsFile, workflowBundle } from '../client/workflow-bundle.js';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import type { TaskDefaults } from '../config/task-options.js';
import { resolvePayloadSettings } from '../payloads/settings.js';
import { BundleCache, bundleSource, Sandbox, type Envelope, type ProgramOptions, type ProgramSource, type TaskBundle } from '../sandbox/index.js';
import { ClosedError, ExecOptionsError, ProgramError } from './errors.js';
import { RunHandle } from './run-handle.js';

export interface ConnectOptions {
  /** The project directory: capsule.toml, .env, relative task and pipeline paths, .capsule/. Default: the working directory. */
  cwd?: string;
  /** Where TEMPORAL_*, CAPSULE_* and the tasks' envVariables are read. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Your workflows file, for the worker this process runs with the embedded server (start() may name it too). */
  workflows?: string;
  /** One line per set-up step (a runtime build, the embedded server's start). Default: nothing is printed. */
  report?: (line: string) => void;
}

/** exec's options. For code given as text, its limits and capabilities (compute, ram, timeout, allowedHosts, ...): the code's own declarations are never read. */
export interface ExecOptions extends ProgramOptions {
  /** For a task file: the task to run. Default "main". */
  task?: string;
  /** More directories of the project for the run, as `HOST[::GUEST][:ro|:rw]` (read-only unless :rw). */
  mounts?: string[];
  /** Aborting stops the run (its envelope then says so). */
  signal?: AbortSignal;
}

/** A pipeline as a value: what a pipeline file holds (name, steps, input, output). */
export type PipelineDefinition = Record<string, unknown>;

export interface StartOptions<I> {
  /** Your workflows file, bundled with Capsule's on the worker this process runs (ignored when workers run elsewhere). */
  workflows?: string;
  /** Task key -> "path/to/task.ts" (or "path/to/task.ts#exportName", a .py file), relative to the project directory. */
  tasks: Record<string, string>;
  input: I;
  /** Default: "<workflowType>-<random>". */
  workflowId?: string;
}

/** Keys of ExecOptions that are not a program's options. */
const EXEC_ONLY = new Set(['task', 'mounts', 'signal']);

export class Capsule {
  private backendOpening: Promise<Backend> | undefined;
  private closed = false;
  /** Task files exec runs, bundled once while unchanged. */
  private readonly bundles = new BundleCache();

  private constructor(
    private readonly cwd: string,
    private readonly env: Record<string, string | undefined>,
    private readonly sandbox: Sandbox,
    private readonly options: ConnectOptions,
    /** capsule.toml's [tasks] defaults, read once at connect() like every other setting. */
    private readonly defaults: TaskDefaults,
  ) {}

  /** Resolves the configuration (a bad setting fails here, naming it), warms a sandbox pool, and reaches a configured server. */
  static async connect(options: ConnectOptions = {}): Promise<Capsule> {
    const cwd = path.resolve(options.cwd ?? process.cwd());
    const env = options.env ?? process.env;
    // Every setting is read now, so a bad one fails here, naming it, rather than at the first run.
    const config = resolveConnectionConfig(cwd, env);
    resolvePayloadSettings(cwd, env);
    const defaults = loadCapsuleConfig(cwd).tasks;
    if (options.workflows !== undefined) checkWorkflowsFile(path.resolve(cwd, options.workflows));
    const sandbox = await Sandbox.create({ secrets: { env, dir: cwd }, ...(options.report === undefined ? { report: () => {} } : { report: options.report }) });
    const capsule = new Capsule(cwd, env, sandbox, options, defaults);
    if (config.configured) {
      try {
        await capsule.backend();
      } catch (error) {
        await sandbox.close();
        throw error;
      }
    }
    return capsule;
  }

  /**
   * Runs one task in a fresh sandbox and resolves to its envelope (a task's failure is an envelope, not an
   * exception). `task` is a task file (.ts, .js, .py; its task() declarations set the limits) or code given as
   * text, `{ language, source }`, whose entry is a function named `main` and whose limits come from `options`.
   * Throws for input that cannot run: a missing or non-task file, a task the file lacks, code without `main`.
   */
  async exec(task: string | ProgramSource, input?: unknown, options: ExecOptions = {}): Promise<Envelope> {
    this.checkOpen();
    const common = {
      args: input === undefined ? [] : [input],
      baseDir: this.cwd,
      defaults: this.defaults,
      env: this.env,
      mounts: options.mounts ?? [],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    const programOptions = Object.fromEntries(Object.entries(options).filter(([key]) => !EXEC_ONLY.has(key))) as ProgramOptions;
    if (typeof task === 'string') {
      const given = Object.keys(programOptions);
      if (given.length > 0) throw new ExecOptionsError(`${task}: ${given.join(', ')} can only be given with code given as text; a task file's limits and capabilities are its task() declaration`);
      const bundle = await this.bundles.bundle(path.resolve(this.cwd, task), this.cwd);
      const name = options.task ?? 'main';
      await this.checkTask(bundle, task, name);
      return this.sandbox.run({ ...common, bundle, task: name });
    }
    if (options.task !== undefined) throw new ExecOptionsError(`task "${options.task}": code given as text always runs its main`);
    const bundle = await bundleSource(task);
    const envelope = await this.sandbox.run({ ...common, bundle, options: programOptions, withoutMain: 'invalid_task' });
    if (envelope.error?.error_type === 'invalid_task') throw new ProgramError(`code given as text (${task.language}): ${envelope.error.message}`, envelope);
    return envelope;
  }

  /**
   * Starts a pipeline (a .yaml/.yml/.json/.pipeline.ts file, a task file as a one-step pipeline, or a definition
   * as a value) with `input` (default: the pipeline's own). Every task is bundled and checked first: a bad file
   * fails here and nothing starts.
   */
  async run(pipeline: string | PipelineDefinition, input?: unknown): Promise<RunHandle> {
    this.checkOpen();
    const prepared = await preparePipelineFromSource({
      ...(typeof pipeline === 'string' ? { file: path.resolve(this.cwd, pipeline) } : { definition: pipeline }),
      cwd: this.cwd,
      describer: this.sandbox,
      ...(input === undefined ? {} : { input }),
    });
    const backend = await this.backend();
    const handle = await startPipeline(backend.client, prepared, { taskQueue: backend.config.taskQueue });
    return new RunHandle(handle, workflowUrl(backend.config, handle.workflowId, backend.uiUrl));
  }

  /**
   * Starts a workflow of your own (one written with `capsule/workflow`'s createSteps) with the given tasks. A type
   * the workers do not have fails here, the run terminated (when a worker is there to say so: this process's, or
   * any polling the task queue).
   */
  async start<I>(workflowType: string, options: StartOptions<I>): Promise<RunHandle> {
    this.checkOpen();
    const workflows = options.workflows === undefined ? undefined : checkWorkflowsFile(path.resolve(this.cwd, options.workflows));
    const prepared = await prepareTaskWorkflow({ workflowType, name: workflowType, input: options.input, tasks: options.tasks, baseDir: this.cwd, describer: this.sandbox });
    // Bundled now (and cached for the worker), so workflow code that does not bundle fails before a server starts.
    if (workflows !== undefined) await workflowBundle({ workflowsPath: workflows });
    const backend = await this.backend(workflows);
    if (workflows !== undefined) await backend.useWorkflows(workflows);
    const workflowId = options.workflowId ?? `${workflowType}-${randomUUID().slice(0, 12)}`;
    const handle = await startPreparedTaskWorkflow(backend.client, prepared, { workflowType, workflowId, taskQueue: backend.config.taskQueue });
    await checkWorkflowType(handle, workflowType, backend.config.taskQueue, backend.workerWorkflows());
    return new RunHandle(handle, workflowUrl(backend.config, workflowId, backend.uiUrl));
  }

  /**
   * Stops what connect() and later calls started: the worker in this process, the embedded server (runs on it
   * pause, and continue when it next starts), the sandbox pool. Runs on a configured server carry on.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opening = this.backendOpening;
    this.backendOpening = undefined;
    try {
      await (await opening?.catch(() => undefined))?.close();
    } finally {
      await this.sandbox.close();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('this Capsule is closed: connect again');
  }

  /** The server (and, with the embedded one, this process's worker), opened once. A failed opening is tried again on the next call. */
  private backend(workflowsPath?: string): Promise<Backend> {
    const given = workflowsPath ?? (this.options.workflows === undefined ? undefined : path.resolve(this.cwd, this.options.workflows));
    const opening = (this.backendOpening ??= openBackend({
      cwd: this.cwd,
      env: this.env,
      worker: true,
      sandbox: this.sandbox,
      ...(given === undefined ? {} : { workflowsPath: given }),
      ...(this.options.report === undefined ? {} : { report: this.options.report }),
    }));
    opening.catch(() => {
      if (this.backendOpening === opening) this.backendOpening = undefined;
    });
    return opening;
  }

  private async checkTask(bundle: TaskBundle, file: string, name: string): Promise<void> {
    const tasks = await this.sandbox.describe(bundle, { baseDir: this.cwd, defaults: this.defaults });
    if (tasks.has(name)) return;
    // (A file that declares no tasks at all fails in describe, naming it.)
    throw new ExecOptionsError(`${file}: no task named "${name}" (tasks: ${[...tasks.keys()].join(', ')})`);
  }
}
