/**
 * Names and I/O types shared by the client, the worker, activities and workflow code. Workflow code imports this
 * module, so it must stay free of Node built-ins and of anything non-deterministic.
 */
import type { Envelope, ErrorType, TaskError } from '../sandbox/envelope.js';
import type { LimitOverrides, TaskDefaults } from '../config/task-options.js';

export const DEFAULT_TASK_QUEUE = 'capsule';
export const DEFAULT_NAMESPACE = 'default';
export const PIPELINE_WORKFLOW = 'pipeline';

/** Search attributes Capsule writes; the dev server registers them at start (see src/client/dev-server.ts). */
export const SEARCH_ATTRIBUTES = {
  CapsulePipeline: 'Keyword',
  CapsuleStatus: 'Keyword',
  CapsuleFailedStep: 'Keyword',
  CapsuleFuel: 'Int',
} as const;

/** Failure type of a pipeline that stopped because a step failed; its details hold the PipelineResult. */
export const PIPELINE_FAILED = 'PipelineFailed';

/**
 * The largest value (step input, step result, workflow input with its task bundles, pipeline output) Capsule
 * moves, in bytes of JSON. Claim-check storage lifts Temporal's 2 MB payload limit; this one keeps a worker's
 * memory (values are held whole by the workflow and the activity) and V8's string limits in reach.
 */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/** Code of one task file, content-addressed so the history shows exactly what ran. */
export interface BundleRef {
  sha256: string;
  code: string;
  /** The task file as the client saw it (for messages only). */
  entryFile: string;
}

/** Everything a worker needs to run one exported task of a bundle, with limits the client already resolved. */
export interface TaskRef {
  bundle: string; // sha256 key into the input's bundles
  /** Export name in the task file ("main" by default). */
  task: string;
  /** Resolved timeout and retries (after capsule.toml defaults and step overrides): they set the activity options. */
  timeoutMs: number;
  /** The task's own failed runs (task_error, timeout, internal_error) that are retried. */
  maxRetries: number;
  /** Attempts that left no result (worker died or shut down, heartbeat stopped, server lost the task) that are retried. */
  maxLostAttempts: number;
  overrides?: LimitOverrides;
  /** Mounts (`HOST[::GUEST][:ro|:rw]`, relative to the run's base directory): the step's own and the command's. */
  mounts?: string[];
  /** How the Web UI names the task and its resolved limits (formatted by the client, which has the unit helpers). */
  display?: TaskDisplay;
}

export interface TaskDisplay {
  /** The name the task declares (`task({ name })`), which the envelope reports as task_name. */
  name: string;
  /** e.g. "compute LOW, ram 64MB, timeout 20s". */
  limits: string;
}

/** Activity retry/heartbeat knobs a pipeline may set (durations in milliseconds). */
export interface RetryTuning {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Lost attempts each step may have (a step's own `maxLostAttempts` wins). */
  maxLostAttempts: number;
}

/** Lost attempts a step may have unless the step, the pipeline or capsule.toml says otherwise. */
export const DEFAULT_MAX_LOST_ATTEMPTS = 10;
/** Upper bound for maxLostAttempts anywhere it is set (a typo of 10000 must not mean "retry for days"). */
export const MAX_LOST_ATTEMPTS_LIMIT = 1000;

export const DEFAULT_RETRY_TUNING: RetryTuning = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 30_000,
  // Far above what a busy machine delays a heartbeat by (docs/benchmarks.md): a heartbeat missed by a live worker
  // declares its step lost and runs it twice. A killed worker's steps move on after this long.
  heartbeatTimeoutMs: 30_000,
  maxLostAttempts: DEFAULT_MAX_LOST_ATTEMPTS,
};

/** What the client hands any Capsule workflow: bundles by sha256 plus the run context the activity needs. */
export interface RunContext {
  bundles: Record<string, BundleRef>;
  /** Directory relative allowedFiles resolve against (the client's working directory). */
  baseDir: string;
  /** capsule.toml [tasks] as the client read it, so every worker applies the same defaults. */
  defaults: TaskDefaults;
  retry: RetryTuning;
  /** True when the server has Capsule's search attributes (upserting unknown ones would fail the workflow task). */
  searchAttributes: boolean;
}

export type FailurePolicy = 'fail' | 'continue';

export interface StepSpec {
  id: string;
  task: TaskRef;
  /** JSON template: strings "{{ input.x }}", "{{ steps.a.output }}", "{{ item }}", "{{ index }}" are filled in. */
  input: unknown;
  /** Explicit dependencies plus every step the templates refer to. */
  dependsOn: string[];
  /** Template that must evaluate to an array: one activity per element, run in parallel. */
  forEach?: unknown;
  onFailure: FailurePolicy;
  /** One-line description shown in the Web UI. */
  summary?: string;
}

export interface PipelineInput extends RunContext {
  name: string;
  /** Pipeline file (for messages and the UI). */
  source: string;
  input: unknown;
  steps: StepSpec[];
  /** Template for the pipeline's output; default: the output of the last step listed. */
  output?: unknown;
}

/**
 * Input to the runTask activity: one run of one task. The bundle is named, not included: its code is in the
 * workflow's own input (see src/activities/bundle-source.ts), so a fan-out does not repeat it per step.
 */
export interface RunTaskInput {
  bundle: Omit<BundleRef, 'code'>;
  task: string;
  args: unknown[];
  baseDir: string;
  defaults: TaskDefaults;
  overrides?: LimitOverrides;
  mounts?: string[];
  /** Step id (with [index] for fan-out items): logs, the task's context() and its idempotency key. */
  stepId: string;
  /** The two retry budgets; the activity enforces them (its retry policy only bounds their sum). */
  budgets: AttemptBudgets;
  /** The workflow's first run id (stable across continue-as-new): with stepId it makes the idempotency key. */
  firstExecutionRunId: string;
}

export interface AttemptBudgets {
  maxRetries: number;
  maxLostAttempts: number;
}

/** An attempt of the task that failed on its own (and was retried), kept so the history shows why. */
export interface AttemptFailure {
  attempt: number;
  error_type: ErrorType;
  message: string;
  duration_ms: number;
}

/** An attempt that left no result: its worker died or shut down, its heartbeat stopped, or the server lost it. */
export interface LostAttempt {
  attempt: number;
  reason: string;
  /** How far it had run at its last heartbeat (ms), or null when no heartbeat of it reached the server. */
  last_heartbeat_ms: number | null;
}

/** Sizes the activity measured, so summaries need not measure values again (in bytes; result: its JSON). */
export interface EnvelopeSizes {
  result_bytes: number;
  stdout_bytes: number;
  stderr_bytes: number;
}

/**
 * The activity's result: the sandbox's envelope plus earlier attempts (the task's own failures and lost ones apart)
 * and the sizes of its parts.
 */
export type RunTaskResult = Envelope & { earlier_attempts: AttemptFailure[]; lost_attempts: LostAttempt[]; sizes: EnvelopeSizes };

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

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

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
export const PROGRESS_QUERY = 'capsule.progress';
