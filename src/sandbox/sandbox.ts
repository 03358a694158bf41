/**
 * The sandbox's public entry: `Sandbox.create()` loads (or builds, once) the runtime and warms a thread pool;
 * `describe()` lists and validates a bundle's tasks; `run()` runs one task in a fresh instance and returns its
 * envelope. Guest failures never throw: they are envelopes.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { MountError, TaskOptionsError } from '../config/errors.js';
import { SandboxBusyError } from './errors.js';
import { SOURCE_DIR } from '../package-paths.js';
import { loadSecretValues, type SecretSource } from '../config/dotenv.js';
import { BUILTIN_DEFAULTS, grantCeiling, parseDeclaration, resolveTaskOptions, type LimitOverrides, type ResolvedTaskOptions, type TaskDefaults } from '../config/task-options.js';
import { COMPUTE_LEVELS, formatBytes, formatDuration, parseBytes } from '../config/units.js';
import { PromiseCache } from '../promise-cache.js';
import { jsonValueProblem } from './bounded-json.js';
import type { TaskBundle } from './bundle.js';
import { taskLanguage } from './task-language.js';
import type { DirectoryQuota } from './directory-quota.js';
import type { Envelope, NarrowedOption } from './envelope.js';
import { EgressServer, type EgressOptions } from './egress/egress-server.js';
import { openRunEdge, variableHoldingSecret, type EdgeContext } from './egress/run-edge.js';
import { PlaceholderKey } from './egress/run-secrets.js';
import { readDescribeReply, readFailure } from './guest-replies.js';
import type { DescribedTask, TaskContext, WithoutMain } from './guest/protocol.js';
import { withoutHostPaths } from './host-paths.js';
import { shortenListed } from './host/wire-limits.js';
import type { GuestEvent, GuestJob } from './host/protocol.js';
import { widenedGrants } from './narrow.js';
import { invalidTaskEnvelope, toEnvelope } from './outcome.js';
import { ThreadPool } from './pool.js';
import { grantsFor, listedEnvironment, runGrants } from './run-grants.js';
import { normaliseRelative } from '../config/guest-path.js';
import { type RunProgress, startProgress } from './run-progress.js';
import { threadScript } from './runtime/host-script.js';
import { lazyShimWorker } from './runtime/lazy-shim-worker.js';
import { ioServiceScript } from './io/service-bundle.js';
import type { IoService } from './io/service.js';
import { LANGUAGE_NAMES, WASM_PAGE_BYTES, type Language } from './runtime/manifest.js';
import { loadRuntime, type ProgressReporter, type Runtime } from './runtime/runtime.js';
import type { PoolStats, RunObserver, RunWatch } from './observer.js';
import { resolveProgramOptions, type ProgramOptions } from './source-program.js';
import { SubtaskServer } from './subtask-server.js';

export interface SandboxOptions {
  /** Concurrent guests; further runs queue. Default: the number of CPUs. */
  poolSize?: number;
  /** Cap on each of stdout and stderr per run. Default 1 MiB. */
  outputCapBytes?: number;
  /** Deepest chain of sub-tasks calling sub-tasks. Default 8. */
  maxSubtaskDepth?: number;
  /** Where build progress goes (the runtime is built once per version). Default: stderr. */
  report?: ProgressReporter;
  /**
   * Runtimes to load now; threads keep a fresh instance of the first one ready. Others load with their
   * language's first task. Default: JavaScript.
   */
  languages?: Language[];
  /** The network edge: resolver, extra trusted CA certificates, connect timeout. Default: the system's. */
  network?: EgressOptions;
  /**
   * Where secret values come from. Default: this process's environment, then `.env.local` and `.env` in its
   * working directory (the environment wins). Never from a run request: those travel in workflow input.
   */
  secrets?: SecretSource;
  /**
   * Wall-clock backstop for reading a task file's options (running its top-level code). Fuel is what bounds that
   * code; this only stops a run the machine was too busy to finish. Default 2 minutes.
   */
  describeBackstopMs?: number;
  /** Told of every run (sub-tasks included) as it starts and ends: metrics and traces hook in here. */
  observer?: RunObserver;
}

export interface RunRequest {
  bundle: TaskBundle;
  /** Task name (its `name` option) or export name. Default "main". */
  task?: string;
  args?: unknown[];
  /** Where relative allowedFiles resolve: the directory the command runs in. */
  baseDir: string;
  /**
   * A task file's options as its caller resolved them (a pipeline step: once, by the client that compiled the
   * pipeline). The run uses exactly these, once held to the most the task may be granted (its file's declaration,
   * else `defaults`): a step narrows grants, never widens them. Without them, the sandbox resolves the declaration
   * with `defaults` and `overrides`.
   */
  resolved?: ResolvedTaskOptions;
  /** capsule.toml [tasks]: for the task when `options` is absent, and for every sub-task it calls. */
  defaults?: TaskDefaults;
  overrides?: LimitOverrides;
  /**
   * More directories of `baseDir` for this run and the sub-tasks it calls, as `HOST[::GUEST][:ro|:rw]`
   * (config/mounts.ts; read-only unless `:rw`). They add directories; they never change one the task declares.
   */
  mounts?: string[];
  /** Host environment the task's envVariables are taken from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /**
   * Where this run's secret values come from, in place of the sandbox's own (SandboxOptions.secrets): a resident
   * process serving callers from different directories and environments (the exec server) looks up each caller's.
   * A function, never values: a run request built from workflow input cannot carry one.
   */
  secretValue?: (name: string) => string | undefined;
  /** What the task's context() returns. Default: a run outside any pipeline (null ids, a fresh idempotency key). */
  context?: TaskContext;
  /**
   * For a program (code given as text, `bundleSource`): the options it runs with — limits and capabilities are the
   * caller's, whatever the code declares. Unset ones take the defaults (capsule.toml [tasks], then built-in). Only
   * for programs: a task file's options are its declarations.
   */
  options?: ProgramOptions;
  /** For a program without a `main`: run it as a script whose stdout is the result, or fail invalid_task (default). */
  withoutMain?: WithoutMain;
  /**
   * Size limits on directories the run (and the sub-tasks it calls) may write to, whatever grant reaches them: a
   * write that would go past one fails with ENOSPC (and a denial in the envelope), before anything is written.
   */
  quotas?: DirectoryQuota[];
  /**
   * Directories of `baseDir` (relative) that no grant reaches into unless it names them (or a directory inside them)
   * itself: Capsule's own state in a directory a run may read. Refused as outside every grant, left out of listings.
   */
  excludedPaths?: string[];
  signal?: AbortSignal;
  /** Called about once a second while the guest runs. */
  onProgress?: (progress: RunProgress) => void;
}

interface DescribeContext {
  baseDir: string;
  defaults?: TaskDefaults;
  overrides?: LimitOverrides;
}

/**
 * Describing runs untrusted top-level code too, so it gets a small budget and no capabilities at all — plus what
 * parsing the bundle itself takes, which grows with its size (measured: a 20 MB bundle takes ~97 M fuel and
 * ~236 MB of memory to load, when a fuel unit was a metered site: ~58x fewer than the wasm instructions counted
 * now), so large bundles (inlined data) can be described at all. Fuel bounds that code (the
 * same on any machine); the wall-clock backstop sits far above what contention adds (20 concurrent `capsule run`
 * on 2 cores stretched a 0.2 s describe past 10 s), so only a machine too busy to run it hits it.
 */
const DESCRIBE_LIMITS = { fuel: 60 * COMPUTE_LEVELS.LOW, ramBytes: 128 * 1024 * 1024, backstopMs: 120_000 };
const DESCRIBE_PER_BUNDLE_BYTE = { fuel: 600, ramBytes: 16, backstopMs: 1 / 1000 };

function describeLimits(bundle: TaskBundle, backstopMs: number) {
  const size = bundle.code.length;
  return {
    fuel: DESCRIBE_LIMITS.fuel + Math.ceil(size * DESCRIBE_PER_BUNDLE_BYTE.fuel),
    ramBytes: DESCRIBE_LIMITS.ramBytes + Math.ceil((size * DESCRIBE_PER_BUNDLE_BYTE.ramBytes) / WASM_PAGE_BYTES) * WASM_PAGE_BYTES,
    backstopMs: backstopMs + Math.ceil(size * DESCRIBE_PER_BUNDLE_BYTE.backstopMs),
  };
}
const MIB = 1024 * 1024;
const MAX_RESOLVED = 512;
const DEFAULT_RAM_BYTES = (() => {
  const parsed = parseBytes(BUILTIN_DEFAULTS.ram);
  if (!parsed.ok) throw new Error('the built-in default ram does not parse');
  return parsed.value;
})();

export class Sandbox {
  private readonly described = new PromiseCache<string, DescribedTask[]>();
  /** Resolved options by bundle and context: a fan-out runs the same task hundreds of times. */
  private readonly resolved = new Map<string, Map<string, ResolvedTaskOptions>>();
  /** Runtimes the pool's threads have: the ones created with, then each other language from its first task. */
  private readonly runtimes = new PromiseCache<Language, Runtime>();

  private constructor(
    private readonly pool: ThreadPool,
    private readonly subtasks: SubtaskServer,
    private readonly edge: EdgeContext,
    private readonly outputCapBytes: number,
    private readonly maxSubtaskDepth: number,
    private readonly report: ProgressReporter | undefined,
    private readonly describeBackstopMs: number,
    private readonly observer: RunObserver | undefined,
  ) {}

  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const languages: Language[] = options.languages?.length ? [...new Set(options.languages)] : ['js'];
    const runtimes = await Promise.all(languages.map((language) => loadRuntime(language, options.report)));
    // Bundled from the sources (shipped in the package) whether this module runs from them or from dist/.
    const script = await threadScript(path.join(SOURCE_DIR, 'sandbox', 'host', 'thread.ts'), 'sandbox-thread', [lazyShimWorker]);
    const init = {
      runtimes: Object.fromEntries(runtimes.map((runtime) => [runtime.language, runtimeInit(runtime)])),
      spare: { language: languages[0]!, ramBytes: DEFAULT_RAM_BYTES },
    };
    // Read first: a malformed .env is an error before any thread starts.
    const secretValues = loadSecretValues(options.secrets ?? { env: process.env, dir: process.cwd() });
    const pool = new ThreadPool({ thread: script, io: ioServiceScript }, init, options.poolSize ?? os.availableParallelism());
    const [subtasks] = await Promise.all([SubtaskServer.start(), pool.warm()]);
    const egress = await EgressServer.start(options.network ?? {}, [subtasks.authority]);
    const edge: EdgeContext = { egress, key: new PlaceholderKey(), secretValue: (name) => secretValues.get(name) };
    const sandbox = new Sandbox(
      pool,
      subtasks,
      edge,
      options.outputCapBytes ?? 1024 * 1024,
      options.maxSubtaskDepth ?? 8,
      options.report,
      options.describeBackstopMs ?? DESCRIBE_LIMITS.backstopMs,
      options.observer,
    );
    for (const runtime of runtimes) void sandbox.runtimes.get(runtime.language, async () => runtime);
    return sandbox;
  }

  get poolSize(): number {
    return this.pool.size;
  }

  /** Sandbox threads alive now (the pool's size, plus extra ones started for sub-tasks). */
  get threadCount(): number {
    return this.pool.threadCount;
  }

  /**
   * The pool's shared I/O service (io/service.ts), for diagnostics: what it holds for its clients. Terminating it
   * fails the runs waiting on it; the next run needing it starts a new one.
   */
  get ioService(): Pick<IoService<unknown>, 'running' | 'resourceCounts' | 'terminate'> {
    return this.pool.io;
  }

  /** Runs waiting for a thread and threads alive, for gauges. */
  stats(): PoolStats {
    return { queued: this.pool.queueDepth, threads: this.pool.threadCount };
  }

  /** Every task the bundle declares, validated. Throws TaskOptionsError naming the file, task and option. */
  async describe(bundle: TaskBundle, ctx: DescribeContext): Promise<ReadonlyMap<string, ResolvedTaskOptions>> {
    // Its top level is the program itself, and what it declares is never used: there is nothing to describe.
    if (bundle.program !== undefined) throw new TaskOptionsError(bundle.entryFile, undefined, undefined, 'code given as text runs with its caller\'s options; it declares none to describe');
    const key = JSON.stringify([bundle.sha256, bundle.entryFile, ctx.baseDir, ctx.defaults ?? null, ctx.overrides ?? null]);
    const cached = this.resolved.get(key);
    if (cached) return cached;
    const tasks = await this.describeRaw(bundle);
    const resolved = new Map<string, ResolvedTaskOptions>();
    for (const described of tasks) {
      const options = resolveTaskOptions(described.options, { file: bundle.entryFile, spelling: taskLanguage(bundle.entryFile), ...ctx });
      if (resolved.has(options.name)) throw new TaskOptionsError(bundle.entryFile, options.name, 'name', 'two tasks in this file have this name');
      resolved.set(options.name, options);
    }
    if (this.resolved.size >= MAX_RESOLVED) this.resolved.delete(this.resolved.keys().next().value!);
    this.resolved.set(key, resolved);
    return resolved;
  }

  /** Loads a language's runtime now (building it once per version), so its first task does not wait for it. */
  async load(language: Language): Promise<void> {
    await this.ensureLanguage(language);
  }

  async run(request: RunRequest): Promise<Envelope> {
    return this.runAtDepth(request, 0, undefined, undefined);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.subtasks.close(), this.edge.egress.close()]);
  }

  /** Loads a language's runtime (building it once per version) into the pool's threads. */
  private ensureLanguage(language: Language): Promise<Runtime> {
    return this.runtimes.get(language, async () => {
      const runtime = await loadRuntime(language, this.report);
      this.pool.addRuntime(language, runtimeInit(runtime));
      return runtime;
    });
  }

  /** What the bundle's tasks declare, read once per bundle in a capability-less guest. */
  private describeRaw(bundle: TaskBundle): Promise<DescribedTask[]> {
    return this.described.get(bundle.sha256, () => this.describeInGuest(bundle));
  }

  private async describeInGuest(bundle: TaskBundle): Promise<DescribedTask[]> {
    const language = taskLanguage(bundle.entryFile);
    await this.ensureLanguage(language);
    const limits = describeLimits(bundle, this.describeBackstopMs);
    const result = await this.pool.execute(
      {
        language,
        source: bundle.code,
        request: { mode: 'describe' },
        fuel: limits.fuel,
        ramBytes: limits.ramBytes,
        outputCapBytes: this.outputCapBytes,
        files: [],
        quotas: [],
        egress: null,
        subtasks: null,
        context: null,
      },
      { timeoutMs: limits.backstopMs },
    );
    const end = result.end;
    const reply = end.kind === 'done' && end.done.outcome.status === 'returned' && !end.done.fuelExhausted ? readDescribeReply(end.done.outcome.resultJson) : undefined;
    if (reply?.ok) {
      if (reply.value.length === 0) throw new TaskOptionsError(bundle.entryFile, undefined, undefined, `declares no tasks: ${NO_TASKS_ADVICE[language]}`);
      return reply.value;
    }
    if (end.kind === 'timeout') {
      throw new SandboxBusyError(
        `${bundle.entryFile}: the machine was too busy to read the task options: running the file's top-level code took more than ` +
          `${formatDuration(limits.backstopMs)} of wall-clock time (its fuel budget, which bounds that code, was not used up). Try again when the machine is less loaded.`,
      );
    }
    const failure = end.kind === 'done' && end.done.outcome.status === 'failed' ? readFailure(end.done.outcome.payload) : undefined;
    const why =
      reply !== undefined ? `the sandbox runner returned a malformed reply (${reply.reason})`
      : end.kind === 'done' && end.done.fuelExhausted ? 'its top-level code used more fuel than loading a module may'
      : failure !== undefined ? (failure.ok ? failure.value.message : `the sandbox runner returned a malformed reply (${failure.reason})`)
      : end.kind === 'done' && end.done.outcome.status === 'trapped' ? `the guest trapped: ${end.done.outcome.message}`
      : end.kind === 'crashed' ? end.message : 'it was cancelled';
    const denied = result.events.some((e) => e.kind === 'denial');
    const hint = denied
      ? ' (top-level code runs without any capability while Capsule reads the task options: do file, network and environment access inside the task function)'
      : '';
    throw new TaskOptionsError(bundle.entryFile, undefined, undefined, `cannot load the task file: ${why}${hint}`);
  }

  /**
   * One run, job by job: resolve (which task, with which options), grant (what this run may use), then bind and
   * execute it in a thread and turn its fate into the envelope. A refusal at any job is an invalid_task envelope.
   * Every envelope leaves here, with host directories hidden (a sub-task's envelope is its caller's value).
   * `caller`: for a sub-task, the options its caller runs with (it gets at most those); `parent`: the caller's watch.
   */
  private async runAtDepth(request: RunRequest, depth: number, caller: ResolvedTaskOptions | undefined, parent: RunWatch | undefined): Promise<Envelope> {
    const watch = this.observer?.runStarted({ task: request.task ?? 'main', language: taskLanguage(request.bundle.entryFile), depth, parent });
    let envelope: Envelope;
    try {
      envelope = withoutHostPaths(await this.plannedAndExecuted(request, depth, caller, watch), request.baseDir);
    } catch (error) {
      watch?.failed(error);
      throw error;
    }
    watch?.ended(envelope);
    return envelope;
  }

  private async plannedAndExecuted(request: RunRequest, depth: number, caller: ResolvedTaskOptions | undefined, watch: RunWatch | undefined): Promise<Envelope> {
    const argsProblem = jsonValueProblem(request.args ?? []);
    const planned = argsProblem !== undefined
      ? invalidTaskEnvelope(request.task ?? 'main', `the task's arguments cannot be sent to the sandbox: ${argsProblem}`)
      : await this.resolve(request).then((options) => ('execution' in options ? options : this.grant(request, options, depth, caller)));
    return 'execution' in planned ? planned : this.execute(request, planned, depth, watch);
  }

  /**
   * The task the request names, with its options: the ones its caller resolved (a pipeline step, from workflow
   * input) once checked against the file's declaration, else resolved here from it (capsule exec, a sub-task).
   */
  private async resolve(request: RunRequest): Promise<ResolvedTaskOptions | Envelope> {
    const taskName = request.task ?? 'main';
    const file = request.bundle.entryFile;
    const language = taskLanguage(file);
    try {
      // A program's task: the caller's options under the task's name; the code's declarations are never read. (A
      // program that calls one of its own tasks by name gets the same options, cut to its caller's like any sub-task.)
      if (request.bundle.program !== undefined) return resolveProgramOptions(request.options, taskName, request);
      if (request.options !== undefined) {
        return invalidTaskEnvelope(taskName, `${file}: options replace declarations only for code given as text; a task file's options are what it declares`);
      }
      const described = await this.describeRaw(request.bundle);
      const entry = findTask(described, taskName);
      if (request.resolved === undefined) {
        const tasks = await this.describe(request.bundle, { baseDir: request.baseDir, defaults: request.defaults, overrides: request.overrides });
        const name = entry === undefined ? taskName : declaredName(entry.options);
        const options = name === undefined ? undefined : tasks.get(name);
        return options ?? invalidTaskEnvelope(taskName, `${file}: no task named "${taskName}" (tasks: ${[...tasks.keys()].join(', ')})`);
      }
      if (entry === undefined) return invalidTaskEnvelope(taskName, `${file}: no task named "${taskName}" (tasks: ${described.map((t) => declaredName(t.options)).join(', ')})`);
      const declared = parseDeclaration(entry.options, file, language);
      const carried = request.resolved;
      if (carried.name !== declared.name) return invalidTaskEnvelope(taskName, `${file}: the step's options are for task "${carried.name}", but "${taskName}" is task "${declared.name}"`);
      const widened = widenedGrants(carried, grantCeiling(declared, request.defaults));
      if (widened.length > 0) {
        return invalidTaskEnvelope(declared.name, `${file}: task "${declared.name}": the step's options grant more ${widened.join(', ')} than the task file declares; a step can only narrow what its task declares`);
      }
      return carried;
    } catch (error) {
      if (error instanceof TaskOptionsError) return invalidTaskEnvelope(taskName, error.message);
      throw error;
    }
  }

  /** What this run may use: the options plus its mounts, cut to its caller's; its memory floor; the variables it lists. */
  private async grant(request: RunRequest, declared: ResolvedTaskOptions, depth: number, caller: ResolvedTaskOptions | undefined): Promise<RunPlan | Envelope> {
    if (depth > this.maxSubtaskDepth) return invalidTaskEnvelope(declared.name, `sub-tasks nest deeper than ${this.maxSubtaskDepth} levels`);
    let granted: ReturnType<typeof runGrants>;
    try {
      granted = runGrants(declared, request.mounts ?? [], request.baseDir, caller);
    } catch (error) {
      if (error instanceof MountError) return invalidTaskEnvelope(declared.name, error.message);
      throw error;
    }
    const { options, narrowed } = granted;
    const file = request.bundle.entryFile;
    const language = taskLanguage(file);
    // Checked per run, not when the file is described: one task's too-small `ram` must not refuse its siblings.
    const floor = (await this.ensureLanguage(language)).manifest.initialMemoryPages * WASM_PAGE_BYTES;
    if (options.ram < floor) {
      const why = options.ram < declared.ram ? `${formatBytes(options.ram)}, all its caller has,` : formatBytes(options.ram);
      return invalidTaskEnvelope(
        options.name,
        `${file}: task "${options.name}": option "ram": ${why} is below what the ${LANGUAGE_NAMES[language]} runtime starts with (${formatBytes(floor)}); use at least "${Math.ceil(floor / MIB)}MB"`,
      );
    }
    const { listed, unset } = listedEnvironment(options.envVariables, request.env ?? process.env);
    const holding = variableHoldingSecret(listed, options.secrets, request.secretValue ?? this.edge.secretValue);
    if (holding) {
      return invalidTaskEnvelope(options.name, `${file}: task "${options.name}": envVariables "${holding.variable}" holds the value of secret "${holding.secret}" on this host, which would put the secret in the guest: remove it from envVariables`);
    }
    return { options, narrowed, declaredSecrets: Object.keys(declared.secrets), language, listedEnv: listed, unsetEnv: unset };
  }

  /** Binds the run (lifetime, network edge, sub-tasks, progress), runs it on a thread and makes its envelope. */
  private async execute(request: RunRequest, plan: RunPlan, depth: number, watch: RunWatch | undefined): Promise<Envelope> {
    const { options, narrowed } = plan;
    // Children die with their parent: a sub-task never outlives the run that called it.
    const lifetime = new AbortController();
    // Each sub-task this run calls listens to it (and stops listening when it ends): a fan-out of children is
    // expected here, not a leak.
    setMaxListeners(0, lifetime.signal);
    const onParentAbort = () => lifetime.abort();
    request.signal?.addEventListener('abort', onParentAbort, { once: true });
    // A caller that ended while this run was being prepared has already fired its signal: listening is too late.
    if (request.signal?.aborted) lifetime.abort();
    // One timeline for the thread's events and the egress's (requests and denials), in the order they arrive.
    const timeline: GuestEvent[] = [];
    const edge = openRunEdge(request.secretValue === undefined ? this.edge : { ...this.edge, secretValue: request.secretValue }, { options, report: (event) => timeline.push(shortenListed(event)) });
    // A declared secret without a value here (or cut for a sub-task) is absent in the guest, as an unset listed
    // variable is: reading it is no denial.
    const unsetEnv = [...plan.unsetEnv, ...plan.declaredSecrets.filter((name) => !(name in edge.environment))];
    const context = request.context ?? standaloneContext();
    const inherited = {
      baseDir: request.baseDir, defaults: request.defaults, env: request.env, secretValue: request.secretValue, mounts: request.mounts, context,
      options: request.options, quotas: request.quotas, excludedPaths: request.excludedPaths,
    };
    const registration = this.subtasks.register((name, args) =>
      this.runAtDepth({ bundle: request.bundle, task: name, args, ...inherited, signal: lifetime.signal }, depth + 1, options, watch),
    );
    const progress = startProgress(request.onProgress);
    // A program's entry run (not the sub-tasks it calls by name) starts at its `main`.
    const program = request.bundle.program !== undefined && depth === 0 && (request.task ?? 'main') === 'main' ? { withoutMain: request.withoutMain ?? 'invalid_task' } : undefined;
    try {
      const job: Omit<GuestJob, 'id'> = {
        language: plan.language,
        source: request.bundle.code,
        request: { mode: 'run', task: options.name, args: request.args ?? [], env: { ...plan.listedEnv, ...edge.environment }, unsetEnv, ...(program === undefined ? {} : { program }) },
        fuel: options.compute,
        ramBytes: options.ram,
        outputCapBytes: this.outputCapBytes,
        files: grantsFor(options, request.baseDir, (request.excludedPaths ?? []).map(normaliseRelative)),
        quotas: (request.quotas ?? []).map((quota) => quota.grant),
        egress: edge.endpoint,
        subtasks: { authority: this.subtasks.authority, token: registration.token },
        context,
      };
      const onEvent = (event: GuestEvent) => {
        timeline.push(event);
        progress.onEvent(event);
      };
      const result = await this.pool.execute(job, { timeoutMs: options.timeout, signal: lifetime.signal, nested: depth > 0, onEvent });
      const envelope = toEnvelope(options, { ...result, events: [...timeline] }, { outputCapBytes: this.outputCapBytes, scriptResult: program?.withoutMain === 'script' });
      return edge.redact(narrowed.length === 0 ? envelope : { ...envelope, execution: { ...envelope.execution, narrowed } });
    } finally {
      progress.stop();
      edge.close();
      registration.close();
      request.signal?.removeEventListener('abort', onParentAbort);
      lifetime.abort();
    }
  }
}

/** A run that may start: its options (mounts added, cut to its caller's), what was cut, and its environment. */
interface RunPlan {
  options: ResolvedTaskOptions;
  narrowed: NarrowedOption[];
  /** Every secret the task declares, cut or not: those without a value here are absent in the guest, not denied. */
  declaredSecrets: string[];
  language: Language;
  listedEnv: Record<string, string>;
  unsetEnv: string[];
}

/** The declaration a request names: by its task name, else by its export name. */
function findTask(described: DescribedTask[], name: string): DescribedTask | undefined {
  return described.find((t) => declaredName(t.options) === name) ?? described.find((t) => t.exportName === name);
}

function declaredName(options: unknown): string | undefined {
  const name = (options as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

const NO_TASKS_ADVICE: Record<Language, string> = {
  js: 'export at least one task({ name, ... }, fn)',
  python: 'decorate at least one function with @task (from capsule import task)',
};

/** The context of a run outside any pipeline (`capsule exec`, a direct Sandbox.run): a fresh key for each run. */
function standaloneContext(): TaskContext {
  return { workflowId: null, runId: null, stepId: null, attempt: 1, idempotencyKey: randomUUID().replaceAll('-', '') };
}

function runtimeInit(runtime: Runtime) {
  return { glueUrl: runtime.glueUrl, modules: runtime.modules, initialMemoryPages: runtime.manifest.initialMemoryPages, dataRanges: runtime.manifest.dataRanges };
}
