/**
 * From a pipeline (or task) file to a started workflow: load, validate, bundle and describe every task (nothing
 * starts if any of that fails), then start the pipeline workflow with an id derived from its content, so running
 * the same pipeline again while it runs reattaches instead of starting a duplicate.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { formatDuration, formatLimits } from '../config/units.js';
import { compilePipeline, type TaskDescriber } from '../pipeline/compile.js';
import { checkedDefinition, loadPipeline, type LoadedPipeline } from '../pipeline/load.js';
import { PIPELINE_WORKFLOW, type PipelineInput, type PipelineResult } from '../workflows/shared.js';
import { hasSearchAttributes } from './connect.js';
import { checkInputValue, parseInput } from './input.js';

export interface PrepareOptions {
  file: string;
  cwd: string;
  /** The input's JSON text (--input, --input-file, stdin); replaces the file's `input`. */
  inputJson?: string;
  /** Where inputJson came from, for messages. Default "--input". */
  inputSource?: string;
  describer: TaskDescriber;
  /** --mount specs, for every step. */
  mounts?: string[];
}

export async function preparePipeline(options: PrepareOptions): Promise<PipelineInput> {
  const input = options.inputJson === undefined ? undefined : parseInput({ text: options.inputJson, source: options.inputSource ?? '--input' });
  const loaded = await loadPipeline(options.file, options.cwd);
  return compileLoaded(loaded, { ...options, ...(input === undefined ? {} : { input }) });
}

/** A pipeline from a file (absolute) or a definition given as a value (an MCP client's), with its input as a value. */
export interface PrepareSourceOptions {
  file?: string;
  definition?: unknown;
  cwd: string;
  input?: unknown;
  describer: TaskDescriber;
  /** Refuses task files (absolute paths) the caller may not use, before they are read. */
  checkTaskFile?: (file: string) => void;
}

/** How an inline definition is named in messages (task paths resolve from the working directory). */
export const INLINE_PIPELINE = '(inline pipeline)';

export async function preparePipelineFromSource(options: PrepareSourceOptions): Promise<PipelineInput> {
  if (options.input !== undefined) checkInputValue(options.input, 'input');
  const loaded = options.file !== undefined ? await loadPipeline(options.file, options.cwd) : checkedDefinition(path.join(options.cwd, INLINE_PIPELINE), options.definition);
  return compileLoaded(loaded, options);
}

function compileLoaded(loaded: LoadedPipeline, options: { cwd: string; describer: TaskDescriber; mounts?: string[]; input?: unknown; checkTaskFile?: (file: string) => void }): Promise<PipelineInput> {
  const capsule = loadCapsuleConfig(options.cwd);
  return compilePipeline(loaded, {
    baseDir: options.cwd,
    defaults: capsule.tasks,
    describer: options.describer,
    searchAttributes: false,
    mounts: options.mounts ?? [],
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.checkTaskFile === undefined ? {} : { checkTaskFile: options.checkTaskFile }),
  });
}

/** "<name>-<12 hex>" from everything that defines the run (steps, code, input). */
export function pipelineWorkflowId(input: PipelineInput): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ name: input.name, steps: input.steps, input: input.input, output: input.output ?? null, bundles: Object.keys(input.bundles).sort() }));
  return `${input.name}-${hash.digest('hex').slice(0, 12)}`;
}

export interface StartOptions {
  taskQueue: string;
  workflowId?: string;
}

export async function startPipeline(client: Client, input: PipelineInput, options: StartOptions): Promise<WorkflowHandle<(input: PipelineInput) => Promise<PipelineResult>>> {
  const withAttributes: PipelineInput = { ...input, searchAttributes: await hasSearchAttributes(client) };
  const workflowId = options.workflowId ?? pipelineWorkflowId(input);
  return client.workflow.start(PIPELINE_WORKFLOW, {
    taskQueue: options.taskQueue,
    workflowId,
    args: [withAttributes],
    // A run of the same pipeline that is still going is joined, not duplicated; a finished one may run again.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: staticSummary(input),
    staticDetails: staticDetails(input),
    memo: { capsule: { pipeline: input.name, source: input.source, steps: input.steps.map((s) => s.id) } },
  });
}

/** Server limits on user metadata (bytes): summary 400, details 20 KB. */
const MAX_SUMMARY_BYTES = 400;
const MAX_DETAILS_BYTES = 20_000;

/** The UI's one line for the run: pipeline name, step count and a digest of the input (runs differ by input). */
export function staticSummary(input: PipelineInput): string {
  const digest = createHash('sha256').update(JSON.stringify(input.input) ?? 'null').digest('hex').slice(0, 12);
  const steps = `${input.steps.length} step${input.steps.length === 1 ? '' : 's'}`;
  return fitBytes(`Capsule pipeline ${input.name} · ${steps} · input sha256:${digest}`, MAX_SUMMARY_BYTES);
}

/** Markdown for the UI: the steps, their tasks with resolved limits and both retry budgets, and the sha256 of each task's code. */
export function staticDetails(input: PipelineInput): string {
  const rows = input.steps.map((s) => {
    const after = [s.dependsOn.join(', ') + (s.when === undefined ? '' : ` when ${s.when}`), s.forEach === undefined ? '' : 'yes', s.onFailure];
    let cells: string[];
    if (s.task !== undefined) {
      const bundle = input.bundles[s.task.bundle];
      const file = bundle?.entryFile.split(/[\\/]/).pop() ?? '?';
      const { options } = s.task;
      cells = [s.id, `${options.name} (${file}#${s.task.task})`, formatLimits(options), String(options.maxRetries), String(s.task.maxLostAttempts), ...after, `\`${s.task.bundle.slice(0, 12)}\``];
    } else if (s.code !== undefined) {
      cells = [s.id, `${s.code.language} code`, `timeout ${formatDuration(s.code.timeout)}`, String(s.code.maxRetries), String(s.code.maxLostAttempts), ...after, 'at run time'];
    } else if (s.llm !== undefined) {
      cells = [s.id, `llm ${s.llm.model}`, '', '', '', ...after, ''];
    } else {
      cells = [s.id, 'approval', s.approval?.timeoutMs === undefined ? 'no timeout' : `timeout ${formatDuration(s.approval.timeoutMs)}, then ${s.approval.onTimeout}`, '', '', ...after, ''];
    }
    return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  });
  const text = [
    `**${input.name}** from \`${input.source}\``,
    '',
    '| step | task | limits | maxRetries | maxLostAttempts | after | forEach | on failure | sha256 |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  return fitBytes(text, MAX_DETAILS_BYTES);
}

/** Cuts UTF-8 text to `max` bytes (at a character boundary) so the server never rejects the start. */
function fitBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let cut = text.slice(0, max - 3);
  while (Buffer.byteLength(cut) > max - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}
