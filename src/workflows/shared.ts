/**
 * The workflow contract: names, schemas and I/O types shared by the client, the worker, activities and workflow
 * code. The inputs that cross a boundary (the workflow's input, the activity's input) are zod schemas checked where
 * they arrive (workflows/pipeline.ts and steps.ts, activities/run-task.ts); search attributes, the memo key, the
 * progress query and the failure types are defined here once. Workflow code imports this module, so it stays free
 * of Node built-ins and of anything non-deterministic.
 */
import { ApplicationFailure, defineSearchAttributeKey } from '@temporalio/common';
import { z } from 'zod';
import { firstIssue } from '../zod-issue.js';
import type { ResolvedTaskOptions, TaskDefaults } from '../config/task-options.js';
import type { TaskBundle } from '../sandbox/bundle.js';
import { envelopeSchema, errorTypeSchema, type Envelope, type TaskError } from '../sandbox/envelope.js';

export const DEFAULT_TASK_QUEUE = 'capsule';
export const DEFAULT_NAMESPACE = 'default';
export const PIPELINE_WORKFLOW = 'pipeline';
/** Every workflow type Capsule registers itself (workflows/index.ts); a user's workflows file cannot replace them. */
export const CAPSULE_WORKFLOW_TYPES = [PIPELINE_WORKFLOW, 'reviewLoop', 'agentLoop', 'codingAgent'] as const;

/** The search attributes Capsule writes (typed keys for workflow code); the dev server registers them at start. */
export const SEARCH_ATTRIBUTE_KEYS = {
  pipeline: defineSearchAttributeKey('CapsulePipeline', 'KEYWORD'),
  status: defineSearchAttributeKey('CapsuleStatus', 'KEYWORD'),
  failedStep: defineSearchAttributeKey('CapsuleFailedStep', 'KEYWORD'),
  fuel: defineSearchAttributeKey('CapsuleFuel', 'INT'),
} as const;
/** The same attributes as `temporal operator search-attribute create` and `start-dev --search-attribute` name them. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Int'>> = Object.fromEntries(
  Object.values(SEARCH_ATTRIBUTE_KEYS).map((key) => [key.name, key.type === 'INT' ? 'Int' : 'Keyword']),
);

/** The memo key a workflow's totals and counts are written under (shown as JSON in the Web UI). */
export const MEMO_KEY = 'capsule';

/** Failure type of a pipeline that stopped because a step failed; its details hold the PipelineResult. */
export const PIPELINE_FAILED = 'PipelineFailed';
/** Failure type of a workflow whose input breaks this contract (a hand-made input, a cycle, an unknown task key). */
export const INVALID_PIPELINE = 'InvalidPipeline';

/**
 * The largest value (step input, step result, workflow input with its task bundles, pipeline output) Capsule
 * moves, in bytes of JSON. Claim-check storage lifts Temporal's 2 MB payload limit; this one keeps a worker's
 * memory (values are held whole by the workflow and the activity) and V8's string limits in reach.
 */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/** Upper bound for maxLostAttempts anywhere it is set (a typo of 10000 must not mean "retry for days"). */
export const MAX_LOST_ATTEMPTS_LIMIT = 1000;
const lostAttemptsExpected = `expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`;
export const maxLostAttemptsSchema = z.number().int(lostAttemptsExpected).min(0, lostAttemptsExpected).max(MAX_LOST_ATTEMPTS_LIMIT, lostAttemptsExpected);

/**
 * One task of a step as the workflow input carries it: the bundle by sha256, the export to run, and its options as
 * the client resolved them, once (declaration, capsule.toml defaults, step overrides); the worker runs with exactly
 * these, after checking that they grant nothing the task file does not declare.
 */
export const taskRefSchema = z.strictObject({
  /** sha256 key into the input's bundles. */
  bundle: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256'),
  /** Export name in the task file ("main" by default). */
  task: z.string().min(1),
  /** Checked in full where it is used, by the activity (config/task-options.ts: resolvedTaskOptionsSchema needs Node). */
  options: z.custom<ResolvedTaskOptions>((value) => typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string', 'expected resolved task options'),
  /** Attempts that left no result (worker died or shut down, heartbeat stopped, server lost the task) that are retried. */
  maxLostAttempts: maxLostAttemptsSchema,
  /** Mounts (`HOST[::GUEST][:ro|:rw]`, relative to the run's base directory): the step's own and the command's. */
  mounts: z.array(z.string()).optional(),
});
export type TaskRef = z.infer<typeof taskRefSchema>;

/** A task file's code, content-addressed so the history shows exactly what ran (the sandbox's TaskBundle). */
export type BundleRef = TaskBundle;

/** Activity retry/heartbeat knobs a pipeline may set (durations in milliseconds). */
export const retryTuningSchema = z.strictObject({
  initialIntervalMs: z.number().int().positive(),
  backoffCoefficient: z.number().min(1),
  maximumIntervalMs: z.number().int().positive(),
  heartbeatTimeoutMs: z.number().int().positive(),
  /** Lost attempts each step may have (a step's own `maxLostAttempts` wins). */
  maxLostAttempts: maxLostAttemptsSchema,
});
export type RetryTuning = z.infer<typeof retryTuningSchema>;

/** Lost attempts a step may have unless the step, the pipeline or capsule.toml says otherwise. */
export const DEFAULT_MAX_LOST_ATTEMPTS = 10;

export const DEFAULT_RETRY_TUNING: RetryTuning = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 30_000,
  // Far above what a busy machine delays a heartbeat by (docs/benchmarks.md): a heartbeat missed by a live worker
  // declares its step lost and runs it twice. A killed worker's steps move on after this long.
  heartbeatTimeoutMs: 30_000,
  maxLostAttempts: DEFAULT_MAX_LOST_ATTEMPTS,
};

const bundleSchema = z.strictObject({ sha256: z.string(), code: z.string(), entryFile: z.string() });

/** What the client hands any Capsule workflow: bundles by sha256 plus the run context the activity needs. */
export const runContextSchema = z.object({
  bundles: z.record(z.string(), bundleSchema),
  /** Directory relative allowedFiles resolve against (the client's working directory). */
  baseDir: z.string(),
  /** capsule.toml [tasks] as the client read it: the sub-tasks a step calls resolve their options with them. */
  defaults: z.custom<TaskDefaults>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'expected an object'),
  retry: retryTuningSchema,
  /** True when the server has Capsule's search attributes (upserting unknown ones would fail the workflow task). */
  searchAttributes: z.boolean(),
});
export type RunContext = z.infer<typeof runContextSchema>;

export type FailurePolicy = 'fail' | 'continue';

/** Languages a code step's source may be in (the sandbox's program languages). */
export const CODE_LANGUAGES = ['javascript', 'typescript', 'python'] as const;
export type CodeLanguage = (typeof CODE_LANGUAGES)[number];

/**
 * A code step's run: the source comes from an earlier step at run time, so only its language and the options the
 * pipeline gives it travel here. `options` are task options as written (the sandbox resolves them for the run,
 * whatever the code declares); `timeout` (ms) and `maxRetries` are their resolved values, for the activity's retry
 * policy and start-to-close timeout.
 */
export const codeRefSchema = z.strictObject({
  language: z.enum(CODE_LANGUAGES),
  options: z.record(z.string(), z.unknown()),
  timeout: z.number().int().positive(),
  maxRetries: z.number().int().nonnegative(),
  maxLostAttempts: maxLostAttemptsSchema,
  mounts: z.array(z.string()).optional(),
});
export type CodeRef = z.infer<typeof codeRefSchema>;

/** An llm step's call as the pipeline wrote it: every string is a template, rendered when the step runs. */
export const llmCallSchema = z.strictObject({
  model: z.string().min(1),
  system: z.string().optional(),
  prompt: z.string().min(1),
  output: z.enum(['text', 'json']),
  temperature: z.number().optional(),
  maxTokens: z.number().int().positive().optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
});
export type LlmCall = z.infer<typeof llmCallSchema>;

export const APPROVAL_TIMEOUT_OUTCOMES = ['approve', 'reject', 'fail'] as const;
/** An approval step: its prompt (a template), and what a timeout (ms; none: wait for ever) decides. */
export const approvalSpecSchema = z.strictObject({
  prompt: z.string().min(1),
  timeoutMs: z.number().int().positive().optional(),
  onTimeout: z.enum(APPROVAL_TIMEOUT_OUTCOMES),
});
export type ApprovalSpec = z.infer<typeof approvalSpecSchema>;

/** An approval step's output. `by` is null when a timeout decided. */
export interface ApprovalDecision {
  approved: boolean;
  by: string | null;
  comment: string | null;
  /** ISO time of the decision (workflow time). */
  at: string;
}

/** The `approve` update's name and argument (the client and the MCP tool send it; pipeline.ts answers it). */
export const APPROVE_UPDATE = 'approve';
export const approveArgsSchema = z.strictObject({
  stepId: z.string().min(1),
  approved: z.boolean(),
  by: z.string().max(200).optional(),
  comment: z.string().max(4000).optional(),
});
export type ApproveArgs = z.infer<typeof approveArgsSchema>;

export const stepSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** Exactly one of task, code, llm and approval: the step's kind. */
  task: taskRefSchema.optional(),
  /** A code step: its language and options, and `source`, the template that renders to the code when it runs. */
  code: codeRefSchema.extend({ source: z.string().min(1) }).optional(),
  llm: llmCallSchema.optional(),
  approval: approvalSpecSchema.optional(),
  /** A condition (template.ts: one reference, optionally negated): the step runs only when it holds. */
  when: z.string().optional(),
  /** JSON template: strings "{{ input.x }}", "{{ steps.a.output }}", "{{ item }}", "{{ index }}" are filled in. */
  input: z.unknown(),
  /** Explicit dependencies plus every step the templates refer to. */
  dependsOn: z.array(z.string()),
  /** Template that must evaluate to an array: one activity per element, run in parallel. */
  forEach: z.unknown().optional(),
  onFailure: z.enum(['fail', 'continue']),
  /** One-line description shown in the Web UI. */
  summary: z.string().optional(),
}).refine((step) => [step.task, step.code, step.llm, step.approval].filter((kind) => kind !== undefined).length === 1, 'expected exactly one of task, code, llm and approval');
export type StepSpec = z.infer<typeof stepSpecSchema>;

export const pipelineInputSchema = runContextSchema.extend({
  name: z.string(),
  /** Pipeline file (for messages and the UI). */
  source: z.string(),
  input: z.unknown(),
  steps: z.array(stepSpecSchema).min(1),
  /** Template for the pipeline's output; default: the output of the last step listed. */
  output: z.unknown().optional(),
});
export type PipelineInput = z.infer<typeof pipelineInputSchema>;

/**
 * Input to the runTask activity: one run of one task. The bundle is named, not included: its code is in the
 * workflow's own input (see src/activities/bundle-source.ts), so a fan-out does not repeat it per step.
 */
export const runTaskInputSchema = z.strictObject({
  /** The step's task, as the workflow input has it; or a code step's language and options. */
  ref: z.union([taskRefSchema, codeRefSchema]),
  /** A code step's source text (rendered from an earlier step's output): history keeps it with the step. */
  source: z.string().optional(),
  /** The task file (for messages and logs). */
  entryFile: z.string(),
  args: z.array(z.unknown()),
  baseDir: z.string(),
  defaults: runContextSchema.shape.defaults,
  /** Step id (with [index] for fan-out items): logs, the task's context() and its idempotency key. */
  stepId: z.string(),
  /** The workflow's first run id (stable across continue-as-new): with stepId it makes the idempotency key. */
  firstExecutionRunId: z.string(),
});
export type RunTaskInput = z.infer<typeof runTaskInputSchema>;

/**
 * `value` checked against `schema` where it crosses into workflow or activity code; an input that breaks the contract
 * (hand-made, or from another version) fails for good, naming the field, instead of failing somewhere later.
 */
export function checkContract<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { field, message } = firstIssue(parsed.error);
  throw ApplicationFailure.nonRetryable(`invalid ${what}: ${field || '(input)'}: ${message}`, INVALID_PIPELINE);
}

export interface AttemptBudgets {
  maxRetries: number;
  maxLostAttempts: number;
}

/** An attempt of the task that failed on its own (and was retried), kept so the history shows why. */
export const attemptFailureSchema = z.object({
  attempt: z.number().int().positive(),
  error_type: errorTypeSchema,
  message: z.string(),
  duration_ms: z.number().nonnegative(),
});
export type AttemptFailure = z.infer<typeof attemptFailureSchema>;

/** An attempt that left no result: its worker died or shut down, its heartbeat stopped, or the server lost it. */
export const lostAttemptSchema = z.object({
  attempt: z.number().int().positive(),
  reason: z.string(),
  /** How far it had run at its last heartbeat (ms), or null when no heartbeat of it reached the server. */
  last_heartbeat_ms: z.number().nonnegative().nullable(),
});
export type LostAttempt = z.infer<typeof lostAttemptSchema>;

/** Sizes the activity measured, so summaries need not measure values again (in bytes; result: its JSON). */
export const envelopeSizesSchema = z.object({
  result_bytes: z.number().nonnegative(),
  stdout_bytes: z.number().nonnegative(),
  stderr_bytes: z.number().nonnegative(),
});
export type EnvelopeSizes = z.infer<typeof envelopeSizesSchema>;

/**
 * What a code step ran: the source's language, sha256 and size (the source itself is in the activity's input in
 * history), and the options its code declared that the run ignored in favour of the step's.
 */
export const codeRecordSchema = z.object({
  language: z.enum(CODE_LANGUAGES),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  ignored_options: z.array(z.string()).optional(),
});
export type CodeRecord = z.infer<typeof codeRecordSchema>;

/**
 * The activity's result (or its failure's details): the sandbox's envelope plus earlier attempts (the task's own
 * failures and lost ones apart) and the sizes of its parts. Checked when the workflow reads it.
 */
export const runTaskResultSchema = envelopeSchema.extend({
  earlier_attempts: z.array(attemptFailureSchema),
  lost_attempts: z.array(lostAttemptSchema),
  sizes: envelopeSizesSchema,
  code: codeRecordSchema.optional(),
});
export type RunTaskResult = Envelope & { earlier_attempts: AttemptFailure[]; lost_attempts: LostAttempt[]; sizes: EnvelopeSizes; code?: CodeRecord };


/** Heartbeat details: progress of this attempt and earlier attempts' records (carried to the next attempt). */
export interface RunTaskHeartbeat {
  /** The record id ("fetch[2]"), so live views can match a pending activity to its step. */
  step_id: string;
  /** The attempt that sent this heartbeat. */
  attempt: number;
  earlier_attempts: AttemptFailure[];
  lost_attempts: LostAttempt[];
  elapsed_ms: number;
  stdout_bytes: number;
  stderr_bytes: number;
}

/** Failure type of a step that was lost more often than its maxLostAttempts allows. */
export const LOST_ATTEMPTS_EXHAUSTED = 'LostAttemptsExhausted';
/** Failure type of an attempt handed back by a worker shutting down (the SDK's own name for it): retried, as lost. */
export const WORKER_SHUTDOWN = 'WorkerShutdown';

export type StepStatus = 'pending' | 'running' | 'awaiting_approval' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** What an llm step's call reported: shown with the step like a task's figures. */
export const llmFiguresSchema = z.object({
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() }).nullable(),
  latency_ms: z.number().nonnegative(),
  finish_reason: z.string().nullable(),
});
export type LlmFigures = z.infer<typeof llmFiguresSchema>;

/** The callLlm activity's result: the step's output and the call's figures. */
export const llmResultSchema = z.object({
  output: z.unknown(),
  figures: llmFiguresSchema,
  /** The attempt that succeeded (earlier ones were rate-limited or met a server error). */
  attempt: z.number().int().positive(),
});
export type LlmResult = z.infer<typeof llmResultSchema>;

/** Input of the callLlm activity: the call with its templates rendered. The endpoint and key are the worker's. */
export const callLlmInputSchema = z.strictObject({
  stepId: z.string(),
  call: llmCallSchema,
});
export type CallLlmInput = z.infer<typeof callLlmInputSchema>;

/** Failure types of an llm call (ApplicationFailure.type): the first two are retried, the others are not. */
export const LLM_FAILURES = {
  rateLimited: 'llm_rate_limited',
  serverError: 'llm_server_error',
  rejected: 'llm_request_rejected',
  invalidOutput: 'llm_invalid_output',
  notConfigured: 'llm_not_configured',
} as const;

/** The figures of a step's envelope, without its values (result, captured output): see StepRecord. */
export interface StepExecution extends EnvelopeSizes {
  task_name: string;
  duration_ms: number;
  fuel_consumed: number;
  fuel_limit: number;
  ram_used: number;
  ram_limit: number;
  /** Output was cut at the capture cap. */
  truncated: boolean;
  host_requests: number;
  denials: number;
}

/**
 * One activity execution in the result: a step, or one item of a fan-out step ("fetch[2]"). A summary: the full
 * envelope (result, stdout, stderr, requests) stays in the activity's own result or failure in history, found by
 * `activity` (`capsule result <id> --step <record id>`).
 */
export interface StepRecord {
  id: string;
  step: string;
  index?: number;
  status: StepStatus;
  /** Attempts made, lost ones included (retries + lost attempts + 1); 0 if it never ran or is not known yet. */
  attempts: number;
  /** Attempts that left no result (see LostAttempt). */
  lostAttempts: number;
  /** Figures of the attempt that ended the step; absent when no attempt left an envelope. */
  execution?: StepExecution;
  /** The task's error (from its envelope) when it failed. */
  error?: TaskError;
  /** Earlier attempts' failures, when the step needed retries. */
  earlier_attempts?: AttemptFailure[];
  /** Attempts lost to crashes, shutdowns and outages, when there were any. */
  lost_attempts?: LostAttempt[];
  /** Set when the step failed without an envelope (e.g. every attempt was lost, or its input was too large). */
  failure?: string;
  /** Where the full envelope is: the result (or failure details) of this activity in this workflow run. */
  activity?: { run_id: string; activity_id: string };
  /** Why a step did not run (status skipped): its `when` was false, or a step it depends on was skipped. */
  reason?: string;
  /** A code step: the source's language, sha256 and size. */
  code?: CodeRecord;
  /** An llm step: model, token usage, latency, finish reason. */
  llm?: LlmFigures;
  /** An approval step: its prompt while it waits, and the decision once made. */
  approval?: { prompt: string; decision?: ApprovalDecision };
}

export interface PipelineTotals {
  duration_ms: number;
  fuel_consumed: number;
  /** Retries after the task's own failures. */
  retries: number;
  /** Attempts lost to crashes, shutdowns and outages (retried apart from `retries`). */
  lost_attempts: number;
  steps: number;
}

/** Step runs of earlier runs of the same workflow (a loop that continued as new). */
export interface EarlierRuns {
  runs: number;
  steps: number;
  counts: Partial<Record<StepStatus, number>>;
}

export interface PipelineResult {
  pipeline: string;
  status: 'succeeded' | 'failed';
  failedStep?: string;
  /** The final output: the last step's output, or the one the pipeline names. */
  output: unknown;
  /** This run's step records (summaries); a continued workflow's earlier ones are counted in `earlier`. */
  steps: StepRecord[];
  /** Over every run of the workflow (a loop that continued as new included). */
  totals: PipelineTotals;
  earlier?: EarlierRuns;
}

/** Live state served by the progress query (and mirrored in the UI's current details). */
export interface PipelineProgress {
  pipeline: string;
  steps: StepRecord[];
}
/** The progress query's name (the client asks by name; tracker.ts answers it). */
export const PROGRESS_QUERY = 'capsule.progress';
