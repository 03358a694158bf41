/**
 * The building block of every Capsule workflow: run one step's task as one runTask activity, with retry and timeouts derived
 * from the task's options, and turn the outcome (success or failure) into a StepRecord (summarizeStep) plus the
 * step's output value.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { CapsuleActivities } from '../activities/index.js';
import { attemptsBefore, budgetsOf, lostAttemptsMessage, recordedAttempts } from './attempts.js';
import { formatDuration, formatLimits } from '../config/units.js';
import { INVALID_PIPELINE, LOST_ATTEMPTS_EXHAUSTED, runTaskResultSchema, type AttemptBudgets, type CodeRef, type RunContext, type RunTaskResult, type StepRecord, type TaskRef } from './shared.js';
import { oversize } from './sizes.js';
import { summarizeStep, type StepEnd } from './summary.js';

/** Headroom over the task's own timeout: the sandbox enforces the timeout; this only catches a hung worker. */
const START_TO_CLOSE_MARGIN_MS = 30_000;

const { runTask: runTaskActivity } = proxyActivities<CapsuleActivities>({ startToCloseTimeout: '5m' });

export interface StepCall {
  /** Record id: the step id, or "step[index]" for a fan-out item. */
  id: string;
  step?: string;
  index?: number;
  /** The step's own description (pipeline `summary:`); shown after the id in the activity's Web UI summary. */
  summary?: string;
}

/** A finished step: its record, and its output (the task's result; null unless it succeeded). */
export interface StepRun {
  record: StepRecord;
  output: unknown;
}

/**
 * The activity's attempts: enough for both budgets. The activity itself stops sooner (non-retryable) when the task's
 * own failures pass maxRetries or its lost attempts pass maxLostAttempts; this only bounds the sum.
 */
export function maximumAttempts(budgets: AttemptBudgets): number {
  return budgets.maxRetries + budgets.maxLostAttempts + 1;
}


/** A code step's program file name, for messages (its code is the source text, not a file). */
const CODE_ENTRY: Record<CodeRef['language'], string> = { javascript: 'main.js', typescript: 'main.ts', python: 'main.py' };

/**
 * Runs `ref` with `args` as one runTask activity; never throws for task failures (they become a failed record), only
 * for cancellation. A code step's ref comes with `source`, the code it runs (history keeps it in the activity input).
 */
export async function runStep(ctx: RunContext, ref: TaskRef | CodeRef, args: unknown[], options: StepCall & { source?: string }): Promise<StepRun> {
  const isCode = 'language' in ref;
  const bundle = isCode ? { entryFile: CODE_ENTRY[ref.language] } : ctx.bundles[ref.bundle];
  if (bundle === undefined) {
    throw ApplicationFailure.nonRetryable(`step "${options.id}": no bundle ${isCode ? '' : ref.bundle} in the workflow input`, INVALID_PIPELINE);
  }
  const base = { id: options.id, step: options.step ?? options.id, ...(options.index === undefined ? {} : { index: options.index }) };
  const end = (outcome: StepEnd): StepRun => ({ record: summarizeStep(base, outcome), output: null });
  const tooLarge = oversize(`the input of step "${options.id}"`, isCode ? [options.source, args] : args);
  if (tooLarge !== undefined) return end({ status: 'failed', attempts: 0, lostAttempts: 0, failure: tooLarge });
  const budgets = budgetsOf(ref);
  // The activity id is the record id, so the step's full envelope can be found in history by it.
  const activity = { run_id: workflowInfo().runId, activity_id: options.id };
  try {
    const envelope = await runTaskActivity.executeWithOptions(
      {
        activityId: options.id,
        startToCloseTimeout: (isCode ? ref.timeout : ref.options.timeout) + START_TO_CLOSE_MARGIN_MS,
        heartbeatTimeout: ctx.retry.heartbeatTimeoutMs,
        retry: {
          maximumAttempts: maximumAttempts(budgets),
          initialInterval: ctx.retry.initialIntervalMs,
          backoffCoefficient: ctx.retry.backoffCoefficient,
          maximumInterval: ctx.retry.maximumIntervalMs,
        },
        summary: activitySummary(options, ref),
      },
      [{ ref, ...(isCode ? { source: options.source ?? '' } : {}), entryFile: bundle.entryFile, args, baseDir: ctx.baseDir, defaults: ctx.defaults, stepId: options.id, firstExecutionRunId: workflowInfo().firstExecutionRunId }],
    );
    return { record: summarizeStep(base, { status: 'succeeded', ...attemptCounts(envelope), envelope, activity }), output: envelope.result };
  } catch (error) {
    if (isCancellation(error)) throw error;
    return end({ status: 'failed', ...describeFailure(error, options.id, budgets), activity });
  }
}

function describeFailure(error: unknown, id: string, budgets: AttemptBudgets): Pick<StepEnd, 'attempts' | 'lostAttempts' | 'envelope' | 'failure'> {
  if (!(error instanceof ActivityFailure)) {
    return { attempts: 0, lostAttempts: 0, failure: error instanceof Error ? error.message : String(error) };
  }
  const cause = error.cause;
  const envelope = cause instanceof ApplicationFailure ? runTaskResultSchema.safeParse(cause.details?.[0]) : undefined;
  if (cause instanceof ApplicationFailure && envelope?.success) {
    return { ...attemptCounts(envelope.data), envelope: envelope.data, failure: cause.message };
  }
  if (cause instanceof ApplicationFailure && cause.type === LOST_ATTEMPTS_EXHAUSTED) {
    // The activity refused to run again; the attempt that said so ran nothing.
    const records = recordedAttempts(cause.details?.[0]);
    return { attempts: records.failures.length + records.lost.length, lostAttempts: records.lost.length, failure: cause.message };
  }
  if (error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) {
    // No envelope, and the retry policy's bound (both budgets) ran out: the last attempt was lost too, and with the
    // task's own failures at most maxRetries, the lost ones exceed maxLostAttempts. A heartbeat timeout carries the
    // last heartbeat, which holds the records of the attempts before it.
    const attempts = maximumAttempts(budgets);
    if (cause instanceof TimeoutFailure) {
      const records = attemptsBefore(cause.lastHeartbeatDetails, attempts + 1);
      return { attempts, lostAttempts: records.lost.length, failure: lostAttemptsMessage(id, records, budgets) };
    }
    const failure = `step "${id}" was lost more often than its maxLostAttempts of ${budgets.maxLostAttempts} (its last attempt: ${cause?.message ?? error.message})`;
    return { attempts, lostAttempts: budgets.maxLostAttempts + 1, failure };
  }
  // No envelope: the step failed outside the sandbox.
  const what = cause instanceof TimeoutFailure ? `timed out (${cause.timeoutType})` : cause?.message ?? error.message;
  return { attempts: 0, lostAttempts: 0, failure: what };
}

/** Attempts of a step that produced an envelope: its retries, its lost attempts, and itself. */
function attemptCounts(envelope: RunTaskResult): Pick<StepEnd, 'attempts' | 'lostAttempts'> {
  const lost = envelope.lost_attempts.length;
  return { attempts: envelope.execution.retries + lost + 1, lostAttempts: lost };
}

/** Activity summaries are capped by the server (400 bytes for user metadata summaries); stay well under it. */
const MAX_SUMMARY_CHARS = 200;

/**
 * The activity's one line in the Web UI (event history and timeline): "<record id> · <task name> (compute, ram,
 * timeout)", where a fan-out item's record id carries its index ("fetch[2]").
 */
export function activitySummary(options: StepCall, ref: TaskRef | CodeRef): string {
  const described = options.summary === undefined ? '' : ` — ${options.summary}`;
  const what = 'language' in ref ? `${ref.language} code (timeout ${formatDuration(ref.timeout)})` : `${ref.options.name} (${formatLimits(ref.options)})`;
  const line = `${options.id} · ${what}${described}`;
  return line.length <= MAX_SUMMARY_CHARS ? line : `${line.slice(0, MAX_SUMMARY_CHARS - 1)}…`;
}
