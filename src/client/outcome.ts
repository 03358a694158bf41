/** A pipeline run's end state, read from Temporal (result or failure details), and its two renderings. */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { formatBytes } from '../config/units.js';
import { PIPELINE_FAILED, type PipelineResult, type RunTaskResult, type StepRecord } from '../workflows/shared.js';
import { forTerminal } from './terminal-text.js';

/** Outputs longer than this (JSON characters) are shown as a preview; `capsule result --out FILE` writes them whole. */
const OUTPUT_PREVIEW_CHARS = 4000;

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

/**
 * The `--json` shape: one object with workflowId, status, output, totals, and every step's summary with its full
 * envelope (`envelopes`, read back from history by stepEnvelopes) where there is one.
 */
export function outcomeJson(outcome: RunOutcome, uiUrl: string | undefined, envelopes: ReadonlyMap<string, RunTaskResult> = new Map()) {
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
    const exec = s.execution;
    const note = s.status === 'failed' ? s.error ? `${s.error.error_type}: ${s.error.message}` : s.failure ?? '' : '';
    const earlier = s.earlier_attempts?.map((a) => `#${a.attempt} ${a.error_type}`).join(', ') ?? '';
    const lost = s.lost_attempts?.map((a) => `#${a.attempt}`).join(', ') ?? '';
    const size = exec === undefined ? '' : formatBytes(exec.result_bytes);
    return [
      s.id, s.status, String(s.attempts), exec === undefined ? '' : `${exec.duration_ms} ms`, exec === undefined ? '' : String(exec.fuel_consumed), size,
      [note, earlier && `earlier: ${earlier}`, lost && `lost: ${lost}`].filter(Boolean).join('; '),
    ];
  });
  return table(['step', 'status', 'attempt', 'duration', 'fuel', 'result', 'notes'], rows.map((row) => row.map(forTerminal)));
}

/** `outputNote` replaces the output (e.g. "written to out.json"). */
export function formatOutcome(outcome: RunOutcome, uiUrl: string | undefined, outputNote?: string): string {
  const lines: string[] = [];
  if (outcome.result !== undefined) {
    lines.push(...formatSteps(outcome.result.steps), '');
    const t = outcome.result.totals;
    const earlier = outcome.result.earlier === undefined ? '' : ` (${outcome.result.earlier.steps} in ${outcome.result.earlier.runs} earlier run(s), not listed)`;
    lines.push(`totals: ${t.steps} step run(s)${earlier}, ${t.duration_ms} ms, fuel ${t.fuel_consumed}, ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'}, ${t.lost_attempts} lost attempt(s)`);
    if (outcome.status === 'succeeded') lines.push(`output: ${outputNote ?? forTerminal(preview(outcome.result.output, outcome.workflowId))}`);
  }
  lines.push(`${outcome.status === 'succeeded' ? 'succeeded' : outcome.status.toUpperCase()}${outcome.message === undefined ? '' : `: ${forTerminal(outcome.message)}`}`);
  lines.push(`workflow id: ${outcome.workflowId}`);
  if (uiUrl !== undefined) lines.push(`web UI: ${uiUrl}`);
  return lines.join('\n');
}

/** The output as indented JSON, or its beginning when it is long (a terminal is no place for megabytes). */
function preview(output: unknown, workflowId: string): string {
  const text = JSON.stringify(output, null, 2) ?? 'null';
  if (text.length <= OUTPUT_PREVIEW_CHARS) return text;
  return `${text.slice(0, OUTPUT_PREVIEW_CHARS)}\n… (${formatBytes(Buffer.byteLength(text))} in all; save it with: capsule result ${workflowId} --out FILE)`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
