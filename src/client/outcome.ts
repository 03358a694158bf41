/** A pipeline run's end state, read from Temporal (result or failure details), and its `--json` shape (the terminal's: cli/format-outcome.ts). */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { PIPELINE_FAILED, type EarlierRuns, type PipelineResult, type PipelineTotals, type RunTaskResult, type StepRecord } from '../workflows/shared.js';

export type RunStatus = 'succeeded' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

export interface RunOutcome {
  workflowId: string;
  status: RunStatus;
  /** Present when the pipeline ran to an end (success, or a step failure with the record of every step). */
  result?: PipelineResult;
  message?: string;
}

/** Waits for the workflow to close. `signal` abandons the wait (detach) so no call outlives the connection. */
export async function awaitOutcome(handle: WorkflowHandle, signal?: AbortSignal): Promise<RunOutcome> {
  const workflowId = handle.workflowId;
  try {
    const wait = () => handle.result() as Promise<PipelineResult>;
    const result = signal === undefined ? await wait() : await handle.client.withAbortSignal(signal, wait);
    return { workflowId, status: 'succeeded', result };
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === PIPELINE_FAILED) {
      return { workflowId, status: 'failed', result: cause.details?.[0] as PipelineResult, message: cause.message };
    }
    if (cause instanceof CancelledFailure) return { workflowId, status: 'cancelled', message: 'the pipeline was cancelled' };
    if (cause instanceof TerminatedFailure) return { workflowId, status: 'terminated', message: cause.message };
    if (cause instanceof TimeoutFailure) return { workflowId, status: 'timed_out', message: cause.message };
    return { workflowId, status: 'failed', message: cause?.message ?? error.message };
  }
}

/** A step of the `--json` shape: its record and its full envelope (null when it left none). */
export type StepWithEnvelope = StepRecord & { envelope: RunTaskResult | null };

/** The `--json` shape of a run's end (`capsule run --json`, the host API's RunHandle.result()). */
export interface OutcomeJson {
  workflowId: string;
  status: RunStatus;
  message?: string;
  /** The pipeline's (or workflow's) name, when it ran to an end. */
  pipeline?: string;
  output?: unknown;
  failedStep?: string;
  totals?: PipelineTotals;
  earlier?: EarlierRuns;
  steps: StepWithEnvelope[];
  uiUrl?: string;
}

/**
 * The `--json` shape: one object with workflowId, status, output, totals, and every step's summary with its full
 * envelope (`envelopes`, read back from history by stepEnvelopes) where there is one.
 */
export function outcomeJson(outcome: RunOutcome, uiUrl: string | undefined, envelopes: ReadonlyMap<string, RunTaskResult> = new Map()): OutcomeJson {
  return {
    workflowId: outcome.workflowId,
    status: outcome.status,
    ...(outcome.message === undefined ? {} : { message: outcome.message }),
    ...(outcome.result === undefined
      ? { steps: [] }
      : {
          pipeline: outcome.result.pipeline,
          output: outcome.result.output,
          ...(outcome.result.failedStep === undefined ? {} : { failedStep: outcome.result.failedStep }),
          totals: outcome.result.totals,
          ...(outcome.result.earlier === undefined ? {} : { earlier: outcome.result.earlier }),
          steps: outcome.result.steps.map((s) => ({ ...s, envelope: envelopes.get(s.id) ?? null })),
        }),
    ...(uiUrl === undefined ? {} : { uiUrl }),
  };
}
