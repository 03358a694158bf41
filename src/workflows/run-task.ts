/**
 * The building block of every Capsule workflow: run one task as one activity, with retry and timeouts derived
 * from the task's options, and turn the outcome (success or failure) into a StepRecord.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { CapsuleActivities } from '../activities/index.js';
import { attemptsBefore, lostAttemptsMessage, recordedAttempts } from './attempts.js';
import { LOST_ATTEMPTS_EXHAUSTED, type AttemptBudgets, type RunContext, type RunTaskResult, type StepRecord, type TaskRef } from './shared.js';

/** Headroom over the task's own timeout: the sandbox enforces the timeout; this only catches a hung worker. */
const START_TO_CLOSE_MARGIN_MS = 30_000;

const { runTask: runTaskActivity } = proxyActivities<CapsuleActivities>({ startToCloseTimeout: '5m' });

export interface RunOptions {
  /** Record id: the step id, or "step[index]" for a fan-out item. */
  id: string;
  step?: string;
  index?: number;
  /** The step's own description (pipeline `summary:`); shown after the id in the activity's Web UI summary. */
  summary?: string;
}

/**
 * The activity's attempts: enough for both budgets. The activity itself stops sooner (non-retryable) when the task's
 * own failures pass maxRetries or its lost attempts pass maxLostAttempts; this only bounds the sum.
 */
export function maximumAttempts(budgets: AttemptBudgets): number {
  return budgets.maxRetries + budgets.maxLostAttempts + 1;
}

/** Runs `ref` with `args`; never throws for task failures (they become a failed record), only for cancellation. */
export async function runTask(ctx: RunContext, ref: TaskRef, args: unknown[], options: RunOptions): Promise<StepRecord> {
  const bundle = ctx.bundles[ref.bundle];
  if (bundle === undefined) {
    throw ApplicationFailure.nonRetryable(`step "${options.id}": no bundle ${ref.bundle} in the workflow input`, 'InvalidPipeline');
  }
  const base = { id: options.id, step: options.step ?? options.id, ...(options.index === undefined ? {} : { index: options.index }) };
  const budgets: AttemptBudgets = { maxRetries: ref.maxRetries, maxLostAttempts: ref.maxLostAttempts };
  try {
    const envelope = await runTaskActivity.executeWithOptions(
      {
        startToCloseTimeout: ref.timeoutMs + START_TO_CLOSE_MARGIN_MS,
        heartbeatTimeout: ctx.retry.heartbeatTimeoutMs,
        retry: {
          maximumAttempts: maximumAttempts(budgets),
          initialInterval: ctx.retry.initialIntervalMs,
          backoffCoefficient: ctx.retry.backoffCoefficient,
          maximumInterval: ctx.retry.maximumIntervalMs,
        },
        summary: activitySummary(options, ref, bundle.entryFile),
      },
      [{
        bundle: { sha256: bundle.sha256, entryFile: bundle.entryFile },
        task: ref.task,
        args,
        baseDir: ctx.baseDir,
        defaults: ctx.defaults,
        ...(ref.overrides === undefined ? {} : { overrides: ref.overrides }),
        stepId: options.id,
        budgets,
        firstExecutionRunId: workflowInfo().firstExecutionRunId,
      }],
    );
    return { ...base, status: 'succeeded', ...attemptCounts(envelope), envelope };
  } catch (error) {
    if (isCancellation(error)) throw error;
    return { ...base, status: 'failed', ...describeFailure(error, options.id, budgets) };
  }
}

type FailureFields = Pick<StepRecord, 'attempts' | 'lostAttempts' | 'envelope' | 'failure'>;

function describeFailure(error: unknown, id: string, budgets: AttemptBudgets): FailureFields {
  if (!(error instanceof ActivityFailure)) {
    return { attempts: 0, lostAttempts: 0, envelope: null, failure: error instanceof Error ? error.message : String(error) };
  }
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && isRunTaskResult(cause.details?.[0])) {
    const envelope = cause.details[0];
    return { ...attemptCounts(envelope), envelope, failure: cause.message };
  }
  if (cause instanceof ApplicationFailure && cause.type === LOST_ATTEMPTS_EXHAUSTED) {
    // The activity refused to run again; the attempt that said so ran nothing.
    const records = recordedAttempts(cause.details?.[0]);
    return { attempts: records.failures.length + records.lost.length, lostAttempts: records.lost.length, envelope: null, failure: cause.message };
  }
  if (error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) {
    // No envelope, and the retry policy's bound (both budgets) ran out: the last attempt was lost too, and with the
    // task's own failures at most maxRetries, the lost ones exceed maxLostAttempts. A heartbeat timeout carries the
    // last heartbeat, which holds the records of the attempts before it.
    const attempts = maximumAttempts(budgets);
    if (cause instanceof TimeoutFailure) {
      const records = attemptsBefore(cause.lastHeartbeatDetails, attempts + 1);
      return { attempts, lostAttempts: records.lost.length, envelope: null, failure: lostAttemptsMessage(id, records, budgets) };
    }
    const failure = `step "${id}" was lost more often than its maxLostAttempts of ${budgets.maxLostAttempts} (its last attempt: ${cause?.message ?? error.message})`;
    return { attempts, lostAttempts: budgets.maxLostAttempts + 1, envelope: null, failure };
  }
  // No envelope: the step failed outside the sandbox.
  const what = cause instanceof TimeoutFailure ? `timed out (${cause.timeoutType})` : cause?.message ?? error.message;
  return { attempts: 0, lostAttempts: 0, envelope: null, failure: what };
}

/** Attempts of a step that produced an envelope: its retries, its lost attempts, and itself. */
function attemptCounts(envelope: RunTaskResult): Pick<StepRecord, 'attempts' | 'lostAttempts'> {
  const lost = envelope.lost_attempts.length;
  return { attempts: envelope.execution.retries + lost + 1, lostAttempts: lost };
}

/** "3 attempt(s), 1 of them lost" for failure messages: the task's own retries and lost attempts are apart. */
export function attemptsText(record: StepRecord): string {
  return `${record.attempts} attempt(s)${record.lostAttempts > 0 ? `, ${record.lostAttempts} of them lost` : ''}`;
}

/** "error_type: message" of a failed record, for the pipeline's own failure message. */
export function failureReason(record: StepRecord): string {
  const error = record.envelope?.error;
  return error == null ? record.failure ?? 'failed' : `${error.error_type}: ${error.message}`;
}

/**
 * The failed step's error as the cause of the pipeline's failure, so the Web UI's failure view of the workflow shows
 * the step's error_type (the activity's own failure event carries the full envelope in its details).
 */
export function failureCause(record: StepRecord): ApplicationFailure | undefined {
  const error = record.envelope?.error;
  if (error == null) return undefined;
  return ApplicationFailure.create({ type: error.error_type, message: `step "${record.id}": ${error.message}`, nonRetryable: true });
}

function isRunTaskResult(value: unknown): value is RunTaskResult {
  return typeof value === 'object' && value !== null && 'execution' in value && 'success' in value;
}

/** Activity summaries are capped by the server (400 bytes for user metadata summaries); stay well under it. */
const MAX_SUMMARY_CHARS = 200;

/**
 * The activity's one line in the Web UI (event history and timeline): "<record id> · <task name> (compute, ram,
 * timeout)", where a fan-out item's record id carries its index ("fetch[2]").
 */
export function activitySummary(options: RunOptions, ref: TaskRef, entryFile: string): string {
  const name = ref.display?.name ?? `${fileName(entryFile)}#${ref.task}`;
  const limits = ref.display === undefined ? '' : ` (${ref.display.limits})`;
  const described = options.summary === undefined ? '' : ` — ${options.summary}`;
  const line = `${options.id} · ${name}${limits}${described}`;
  return line.length <= MAX_SUMMARY_CHARS ? line : `${line.slice(0, MAX_SUMMARY_CHARS - 1)}…`;
}

function fileName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}
