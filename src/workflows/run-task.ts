/**
 * The building block of every Capsule workflow: run one task as one activity, with retry and timeouts derived
 * from the task's options, and turn the outcome (success or failure) into a StepRecord (summarizeStep) plus the
 * step's output value.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { CapsuleActivities } from '../activities/index.js';
import type { RunContext, RunTaskResult, StepRecord, TaskRef } from './shared.js';
import { oversize } from './sizes.js';
import { summarizeStep, type StepEnd } from './summary.js';

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

/** A finished step: its record, and its output (the task's result; null unless it succeeded). */
export interface StepRun {
  record: StepRecord;
  output: unknown;
}

/** Runs `ref` with `args`; never throws for task failures (they become a failed record), only for cancellation. */
export async function runTask(ctx: RunContext, ref: TaskRef, args: unknown[], options: RunOptions): Promise<StepRun> {
  const bundle = ctx.bundles[ref.bundle];
  if (bundle === undefined) {
    throw ApplicationFailure.nonRetryable(`step "${options.id}": no bundle ${ref.bundle} in the workflow input`, 'InvalidPipeline');
  }
  const base = { id: options.id, step: options.step ?? options.id, ...(options.index === undefined ? {} : { index: options.index }) };
  const end = (outcome: StepEnd): StepRun => ({ record: summarizeStep(base, outcome), output: null });
  const tooLarge = oversize(`the input of step "${options.id}"`, args);
  if (tooLarge !== undefined) return end({ status: 'failed', attempts: 0, failure: tooLarge });
  // The activity id is the record id, so the step's full envelope can be found in history by it.
  const activity = { run_id: workflowInfo().runId, activity_id: options.id };
  try {
    const envelope = await runTaskActivity.executeWithOptions(
      {
        activityId: options.id,
        startToCloseTimeout: ref.timeoutMs + START_TO_CLOSE_MARGIN_MS,
        heartbeatTimeout: ctx.retry.heartbeatTimeoutMs,
        retry: {
          maximumAttempts: ref.maxRetries + 1,
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
        ...(ref.mounts === undefined ? {} : { mounts: ref.mounts }),
        stepId: options.id,
      }],
    );
    return { record: summarizeStep(base, { status: 'succeeded', attempts: envelope.execution.retries + 1, envelope, activity }), output: envelope.result };
  } catch (error) {
    if (isCancellation(error)) throw error;
    return end({ status: 'failed', ...describeFailure(error, ref), activity });
  }
}

function describeFailure(error: unknown, ref: TaskRef): Pick<StepEnd, 'attempts' | 'envelope' | 'failure'> {
  if (!(error instanceof ActivityFailure)) {
    return { attempts: 0, failure: error instanceof Error ? error.message : String(error) };
  }
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && isRunTaskResult(cause.details?.[0])) {
    const envelope = cause.details[0];
    return { attempts: envelope.execution.retries + 1, envelope, failure: cause.message };
  }
  // No envelope: the last attempt timed out (e.g. its worker died) or failed outside the sandbox.
  const attempts = error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED ? ref.maxRetries + 1 : 0;
  const what = cause instanceof TimeoutFailure ? `timed out (${cause.timeoutType})` : cause?.message ?? error.message;
  return { attempts, failure: what };
}

/** "error_type: message" of a failed record, for the pipeline's own failure message. */
export function failureReason(record: StepRecord): string {
  const error = record.error;
  return error === undefined ? record.failure ?? 'failed' : `${error.error_type}: ${error.message}`;
}

/**
 * The failed step's error as the cause of the pipeline's failure, so the Web UI's failure view of the workflow shows
 * the step's error_type (the activity's own failure event carries the full envelope in its details).
 */
export function failureCause(record: StepRecord): ApplicationFailure | undefined {
  const error = record.error;
  if (error === undefined) return undefined;
  return ApplicationFailure.create({ type: error.error_type, message: `step "${record.id}": ${error.message}`, nonRetryable: true });
}

function isRunTaskResult(value: unknown): value is RunTaskResult {
  return typeof value === 'object' && value !== null && 'execution' in value && 'success' in value && 'sizes' in value;
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
