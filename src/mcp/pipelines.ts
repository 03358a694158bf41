/**
 * Pipelines on behalf of an MCP client: start one (a file under the server's directory, or a definition given
 * inline) and read its state back. Temporal is found as `capsule run` finds it (client/backend.ts), from the server's
 * directory: a configured server (TEMPORAL_ADDRESS, capsule.toml [temporal]) — whose own workers run the steps; a
 * `capsule dev` serving that directory; else the embedded dev server, started on the first pipeline call and kept
 * (with an in-process worker on this server's sandbox) until the MCP server exits. Its runs are kept in
 * .capsule/temporal.db, so `capsule dev` or a later server sees them.
 *
 * What the client may choose is held to the server's ceilings like any call: pipeline modules (*.pipeline.ts, code
 * that runs on the host) are refused; every task file must lie in the server's directory, outside .capsule; and
 * every step, as it would run (its declaration, the step's overrides and mounts), must fit the ceilings: compute,
 * memory and time at most theirs, hosts among the allowed ones, files read-only and outside Capsule's state, no
 * environment variables or secrets.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { approveStep } from '../client/approve.js';
import { openBackend, type Backend } from '../client/backend.js';
import { workflowUrl } from '../client/config.js';
import { awaitOutcome, type RunOutcome } from '../client/outcome.js';
import { findStepEnvelope } from '../client/step-envelopes.js';
import { preparePipelineFromSource, startPipeline } from '../client/submit.js';
import { coversPattern, parseHostPattern } from '../config/host-pattern.js';
import { resolveMount, withMounts } from '../config/mounts.js';
import type { ResolvedTaskOptions } from '../config/task-options.js';
import { formatBytes, formatCount, formatDuration } from '../config/units.js';
import { resolveProgramOptions, type Sandbox } from '../sandbox/index.js';
import { PROGRESS_QUERY, type ApprovalDecision, type ApproveArgs, type PipelineInput, type PipelineProgress, type RunTaskResult, type StepRecord } from '../workflows/shared.js';
import { ToolError } from './errors.js';
import { CAPSULE_STATE_DIR } from './sessions.js';
import type { Ceilings, McpSettings } from './settings.js';

export interface PipelineSource {
  /** A pipeline (.yaml, .yml, .json) or task file, relative to the server's directory. */
  file?: string;
  /** A pipeline definition: YAML or JSON text, or the object itself. Task paths are relative to the server's directory. */
  definition?: string | Record<string, unknown>;
}

export interface StartedRun {
  workflowId: string;
  pipeline: string;
  steps: string[];
  uiUrl?: string;
}

export type RunView =
  | { workflowId: string; status: 'running'; steps: StepRecord[] | null; uiUrl?: string }
  | { workflowId: string; status: RunOutcome['status']; message?: string; output?: unknown; failedStep?: string; steps: StepRecord[]; totals?: unknown; uiUrl?: string };

const PIPELINE_FILES = ['.yaml', '.yml', '.json'];
const TASK_FILES = ['.ts', '.mts', '.js', '.mjs', '.py'];
const HOST_MODULE = /\.pipeline\.(ts|mts|js|mjs)$/;

export class PipelineService {
  private backend: Promise<Backend> | undefined;

  constructor(
    private readonly settings: McpSettings,
    private readonly sandbox: Sandbox,
    private readonly log: (line: string) => void,
  ) {}

  async start(source: PipelineSource, input: unknown): Promise<StartedRun> {
    const { directory, ceilings } = this.settings;
    if (!ceilings.files) throw new ToolError('permission_denied', 'this server shares no directory, so it has no pipelines or task files to run: its operator starts it with --root DIR');
    const loaded = source.file !== undefined ? { file: this.pipelineFile(source.file) } : { definition: parseDefinition(source.definition) };
    const prepared = await preparePipelineFromSource({
      ...loaded,
      cwd: directory,
      describer: this.sandbox,
      ...(input === undefined ? {} : { input }),
      checkTaskFile: (file) => this.checkInside(file, 'task file'),
    });
    const problems = this.stepProblems(prepared);
    if (problems.length > 0) throw new ToolError('permission_denied', `the pipeline needs more than this server allows: ${problems.join('; ')}`);
    const backend = await this.connect();
    const handle = await startPipeline(backend.client, prepared, { taskQueue: backend.config.taskQueue });
    const uiUrl = workflowUrl(backend.config, handle.workflowId, backend.uiUrl);
    this.log(`pipeline ${prepared.name}: workflow ${handle.workflowId}${uiUrl === undefined ? '' : ` (${uiUrl})`}`);
    return { workflowId: handle.workflowId, pipeline: prepared.name, steps: prepared.steps.map((s) => s.id), ...(uiUrl === undefined ? {} : { uiUrl }) };
  }

  /** The run's state; `waitMs`: wait up to that long for it to finish first. */
  async view(workflowId: string, waitMs: number, signal: AbortSignal): Promise<RunView> {
    const backend = await this.connect();
    const handle = backend.client.workflow.getHandle(workflowId);
    const uiUrl = workflowUrl(backend.config, workflowId, backend.uiUrl);
    const url = uiUrl === undefined ? {} : { uiUrl };
    const description = await notFound(workflowId, () => handle.describe());
    let outcome: RunOutcome | undefined;
    if (description.status.name !== 'RUNNING') {
      outcome = await awaitOutcome(handle);
    } else if (waitMs > 0) {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), waitMs);
      const onAbort = () => stop.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        outcome = await awaitOutcome(handle, stop.signal).catch(() => undefined);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    }
    if (outcome === undefined) {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
      return { workflowId, status: 'running', steps: progress?.steps ?? null, ...url };
    }
    const result = outcome.result;
    return {
      workflowId,
      status: outcome.status,
      ...(outcome.message === undefined ? {} : { message: outcome.message }),
      ...(result === undefined ? {} : { output: result.output, totals: result.totals, ...(result.failedStep === undefined ? {} : { failedStep: result.failedStep }) }),
      steps: result?.steps ?? [],
      ...url,
    };
  }

  /** Decides a waiting approval step (the run's `approve` update; client/approve.ts). */
  async approve(workflowId: string, args: ApproveArgs): Promise<ApprovalDecision> {
    const backend = await this.connect();
    return notFound(workflowId, () => approveStep(backend.client.workflow.getHandle(workflowId), args));
  }

  /** A finished step's full envelope (values fetched from the blob store and decoded). */
  async stepEnvelope(workflowId: string, step: string): Promise<RunTaskResult> {
    const backend = await this.connect();
    const envelope = await notFound(workflowId, () => findStepEnvelope(backend.client.workflow, workflowId, step));
    if (envelope === undefined) throw new ToolError('invalid_task', `workflow ${workflowId} has no finished step "${step}" (record ids are step ids, "step[2]" for forEach items)`);
    return envelope;
  }

  async close(): Promise<void> {
    const backend = await this.backend?.catch(() => undefined);
    await backend?.close();
  }

  private connect(): Promise<Backend> {
    this.backend ??= openBackend({ cwd: this.settings.directory, worker: true, sandbox: this.sandbox, report: this.log, env: process.env });
    this.backend.catch(() => (this.backend = undefined));
    return this.backend.catch((error: unknown) => {
      throw new ToolError('internal_error', `cannot reach Temporal: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private pipelineFile(given: string): string {
    const extension = path.extname(given).toLowerCase();
    if (HOST_MODULE.test(given)) throw new ToolError('permission_denied', `${given}: pipeline modules run on the host, so this server does not run them; use a YAML or JSON pipeline`);
    if (![...PIPELINE_FILES, ...TASK_FILES].includes(extension)) {
      throw new ToolError('invalid_task', `${given}: expected a pipeline (.yaml, .yml, .json) or a task file (.ts, .js, .py)`);
    }
    return this.checkInside(path.resolve(this.settings.directory, given), 'pipeline');
  }

  /** `file` (absolute) must really lie in the server's directory, outside Capsule's state. */
  private checkInside(file: string, what: string): string {
    const root = realpathSync(this.settings.directory);
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new ToolError('invalid_task', `${what} "${path.relative(this.settings.directory, file)}" not found in the server's directory`);
    }
    const relative = path.relative(root, real);
    if (relative.startsWith('..') || path.isAbsolute(relative)) throw new ToolError('permission_denied', `${what} "${path.relative(this.settings.directory, file)}" is outside the server's directory`);
    if (within(relative.split(path.sep).join('/'), CAPSULE_STATE_DIR)) throw new ToolError('permission_denied', `${what} "${relative}" is in Capsule's own state directory`);
    return file;
  }

  /** What each step, as it would run (the options compile resolved for it, plus its mounts), needs beyond the ceilings. */
  private stepProblems(input: PipelineInput): string[] {
    return input.steps.flatMap((step) => {
      // A code step runs with the options the pipeline gives it (compile checked them); llm and approval steps run
      // no guest code.
      // A model call would spend the key of whoever runs this server on a client's behalf: not over MCP.
      if (step.llm !== undefined) return [`step ${step.id}: llm steps do not run over MCP (they would use this server's model key); run the pipeline with capsule run`];
      const ref = step.task ?? step.code;
      if (ref === undefined) return [];
      const options = 'language' in ref ? resolveProgramOptions(ref.options, 'main', { baseDir: input.baseDir, defaults: input.defaults }) : ref.options;
      const allowedFiles = withMounts(options.allowedFiles, (ref.mounts ?? []).map((m) => resolveMount(m, input.baseDir)));
      const file = 'language' in ref ? `${ref.language} code` : path.basename(input.bundles[ref.bundle]!.entryFile);
      return optionProblems({ ...options, allowedFiles }, this.settings.ceilings).map((p) => `step ${step.id} (${file}): ${p}`);
    });
  }
}

/** Where a step's resolved options go past the ceilings (empty: they fit). */
export function optionProblems(options: ResolvedTaskOptions, ceilings: Ceilings): string[] {
  const problems: string[] = [];
  if (options.compute > ceilings.compute) problems.push(`compute ${formatCount(options.compute)} is above the server's ${formatCount(ceilings.compute)} (--max-compute)`);
  if (options.ram > ceilings.ram) problems.push(`ram ${formatBytes(options.ram)} is above the server's ${formatBytes(ceilings.ram)} (--max-ram)`);
  if (options.timeout > ceilings.timeout) problems.push(`timeout ${formatDuration(options.timeout)} is above the server's ${formatDuration(ceilings.timeout)} (--max-timeout)`);
  const allowed = ceilings.allowedHosts.flatMap((text) => {
    const parsed = parseHostPattern(text);
    return parsed.ok ? [parsed.value] : [];
  });
  for (const host of options.allowedHosts) {
    const parsed = parseHostPattern(host);
    if (!parsed.ok || !allowed.some((outer) => coversPattern(outer, parsed.value))) problems.push(`host "${host}" is not allowed (--allow-host)`);
  }
  for (const file of options.allowedFiles) {
    const hostPath = file.hostPath ?? file.path;
    if (file.mode !== 'read-only') problems.push(`"${file.path}" is read-write; the server shares its directory read-only`);
    if (within(hostPath, CAPSULE_STATE_DIR) || within(CAPSULE_STATE_DIR, hostPath)) problems.push(`"${file.path}" reaches Capsule's own state (${CAPSULE_STATE_DIR}); grant the directories the task needs instead`);
  }
  if (options.envVariables.length > 0) problems.push(`environment variables (${options.envVariables.join(', ')}) are not passed to code by this server`);
  if (Object.keys(options.secrets).length > 0) problems.push(`secrets (${Object.keys(options.secrets).join(', ')}) are not passed to code by this server`);
  return problems;
}

/** An inline definition: the object, or YAML/JSON text (YAML is a superset of JSON). */
function parseDefinition(definition: PipelineSource['definition']): unknown {
  if (typeof definition !== 'string') return definition;
  try {
    return parseYaml(definition) as unknown;
  } catch (error) {
    throw new ToolError('invalid_task', `the pipeline definition is neither JSON nor YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

/** `child` is `parent` or lies below it (relative paths with "/"; "." holds everything). */
function within(child: string, parent: string): boolean {
  return parent === '.' || child === parent || child.startsWith(`${parent}/`);
}

async function notFound<T>(workflowId: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ToolError('invalid_task', `no workflow with id "${workflowId}"`);
    throw error;
  }
}
