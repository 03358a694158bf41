/** A pipeline run's end state, read from Temporal (result or failure details), and its two renderings. */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { PIPELINE_FAILED, type PipelineResult, type StepRecord } from '../workflows/shared.js';
import { forTerminal } from './terminal-text.js';

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

/** The `--json` shape: one object with workflowId, status, and every step with its envelope. */
export function outcomeJson(outcome: RunOutcome, uiUrl: string | undefined) {
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
          steps: outcome.result.steps.map((s) => ({ id: s.id, status: s.status, attempts: s.attempts, envelope: s.envelope, ...(s.failure === undefined ? {} : { failure: s.failure }) })),
        }),
    ...(uiUrl === undefined ? {} : { uiUrl }),
  };
}

/** What a running step's activity reports while it runs (from its pending-activity info). */
export interface LiveStep {
  attempt: number;
  elapsedMs: number;
  /** The previous attempt's failure, while a retry is pending or running. */
  lastFailure?: string;
}

export function formatSteps(steps: StepRecord[], live: Map<string, LiveStep> = new Map()): string[] {
  const rows = steps.map((s) => {
    const now = s.status === 'running' ? live.get(s.id) : undefined;
    if (now !== undefined) {
      return [s.id, s.status, String(now.attempt), `${now.elapsedMs} ms`, '', now.lastFailure === undefined ? '' : `retrying after: ${now.lastFailure}`];
    }
    const exec = s.envelope?.execution;
    const note = s.status === 'failed' ? s.envelope?.error ? `${s.envelope.error.error_type}: ${s.envelope.error.message}` : s.failure ?? '' : '';
    const earlier = s.envelope?.earlier_attempts.map((a) => `#${a.attempt} ${a.error_type}`).join(', ') ?? '';
    return [s.id, s.status, String(s.attempts), exec === undefined ? '' : `${exec.duration_ms} ms`, exec === undefined ? '' : String(exec.fuel_consumed), [note, earlier && `earlier: ${earlier}`].filter(Boolean).join('; ')];
  });
  return table(['step', 'status', 'attempt', 'duration', 'fuel', 'notes'], rows.map((row) => row.map(forTerminal)));
}

export function formatOutcome(outcome: RunOutcome, uiUrl: string | undefined): string {
  const lines: string[] = [];
  if (outcome.result !== undefined) {
    lines.push(...formatSteps(outcome.result.steps), '');
    const t = outcome.result.totals;
    lines.push(`totals: ${t.steps} step run(s), ${t.duration_ms} ms, fuel ${t.fuel_consumed}, ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'}`);
    if (outcome.status === 'succeeded') lines.push(`output: ${forTerminal(JSON.stringify(outcome.result.output, null, 2) ?? 'null')}`);
  }
  lines.push(`${outcome.status === 'succeeded' ? 'succeeded' : outcome.status.toUpperCase()}${outcome.message === undefined ? '' : `: ${forTerminal(outcome.message)}`}`);
  lines.push(`workflow id: ${outcome.workflowId}`);
  if (uiUrl !== undefined) lines.push(`web UI: ${uiUrl}`);
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
