/**
 * Helpers for hand-written workflows that chain sandboxed tasks with ordinary control flow (loops, branches,
 * Promise.all). The client passes the tasks (bundled and validated) in the input; `step()` runs one and returns its
 * output, recording every run so `result()` gives the same PipelineResult shape as the pipeline workflow.
 *
 *   export async function myWorkflow(input: TaskWorkflowInput<{ topic: string }>) {
 *     const { step, result } = createSteps(input);
 *     const found = await step('search', 'search', { topic: input.input.topic });
 *     return result(found);
 *   }
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { attemptsText, failureCause, failureReason, runTask } from './run-task.js';
import { MAX_LOST_ATTEMPTS_LIMIT, PIPELINE_FAILED, type PipelineResult, type RunContext, type StepRecord, type TaskRef } from './shared.js';
import { Tracker } from './tracker.js';

export interface TaskWorkflowInput<I = unknown> extends RunContext {
  name: string;
  input: I;
  /** Tasks by the key the client registered them under. */
  tasks: Record<string, TaskRef>;
}

/** Per-step settings, as a pipeline step has them. */
export interface StepOptions {
  /**
   * Attempts that may be lost (worker died or shut down, heartbeat stopped, server lost the task) before the step
   * fails. Default: the workflow's `retry.maxLostAttempts` (capsule.toml `default_max_lost_attempts`, else 10).
   */
  maxLostAttempts?: number;
}

export interface Steps {
  /** Runs task `taskKey` once as step `id` (ids must be unique per run); throws ApplicationFailure if it fails. */
  step(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<unknown>;
  /** Like step() but never throws for a task failure: returns the record (status, attempts, envelope). */
  tryStep(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<StepRecord>;
  /** The run's result with every step recorded so far and totals. */
  result(output: unknown): PipelineResult;
}

export function createSteps(input: TaskWorkflowInput): Steps {
  const startedAt = Date.now();
  const tracker = new Tracker(input.name, input.searchAttributes);

  const tryStep = async (id: string, taskKey: string, stepInput: unknown, options: StepOptions = {}): Promise<StepRecord> => {
    const task = input.tasks[taskKey];
    if (task === undefined) {
      throw ApplicationFailure.nonRetryable(`step "${id}": no task "${taskKey}" in the input (have: ${Object.keys(input.tasks).join(', ')})`, 'InvalidPipeline');
    }
    const ref = withStepOptions(id, task, options);
    if (tracker.list().some((r) => r.id === id)) throw ApplicationFailure.nonRetryable(`step id "${id}" used twice`, 'InvalidPipeline');
    tracker.set({ id, step: id, status: 'running', attempts: 0, lostAttempts: 0, envelope: null });
    const record = await runTask(input, ref, [stepInput], { id });
    tracker.set(record);
    return record;
  };

  const result = (output: unknown, failedStep?: string): PipelineResult => {
    const totals = tracker.totals(startedAt);
    tracker.finish(failedStep === undefined ? 'Completed' : 'Failed', totals, failedStep);
    return {
      pipeline: input.name,
      status: failedStep === undefined ? 'succeeded' : 'failed',
      ...(failedStep === undefined ? {} : { failedStep }),
      output,
      steps: tracker.list(),
      totals,
    };
  };

  const step = async (id: string, taskKey: string, stepInput: unknown, options?: StepOptions): Promise<unknown> => {
    const record = await tryStep(id, taskKey, stepInput, options);
    if (record.status === 'succeeded') return record.envelope?.result ?? null;
    const cause = failureCause(record);
    throw ApplicationFailure.create({
      type: PIPELINE_FAILED,
      message: `step "${id}" failed after ${attemptsText(record)}: ${failureReason(record)}`,
      nonRetryable: true,
      details: [result(null, id)],
      ...(cause === undefined ? {} : { cause }),
    });
  };

  return { step, tryStep, result: (output) => result(output) };
}

function withStepOptions(id: string, ref: TaskRef, options: StepOptions): TaskRef {
  const lost = options.maxLostAttempts;
  if (lost === undefined) return ref;
  if (!Number.isSafeInteger(lost) || lost < 0 || lost > MAX_LOST_ATTEMPTS_LIMIT) {
    throw ApplicationFailure.nonRetryable(`step "${id}": maxLostAttempts: got ${String(lost)}; expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`, 'InvalidPipeline');
  }
  return { ...ref, maxLostAttempts: lost };
}
