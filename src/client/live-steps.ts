/**
 * What the server knows of a running pipeline beyond its progress query: each running step's attempt and elapsed
 * time (from its heartbeat), and why no worker makes progress (its workflow tasks keep failing).
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { decodePayload } from '../payloads/data-converter.js';
import type { RunTaskHeartbeat } from '../workflows/shared.js';

/** What a running step's activity reports while it runs (from its pending-activity info). */
export interface LiveStep {
  attempt: number;
  elapsedMs: number;
  /** The previous attempt's failure, while a retry is pending or running. */
  lastFailure?: string;
}

/** Why the workflow makes no progress, when its workflow tasks keep failing: the newest failure in its history. */
export async function workflowTaskTrouble(handle: WorkflowHandle, { raw, runId }: WorkflowExecutionDescription): Promise<string | undefined> {
  const attempt = raw.pendingWorkflowTask?.attempt ?? 0;
  if (attempt < 2) return undefined;
  const { history } = await handle.client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: handle.client.options.namespace,
    execution: { workflowId: handle.workflowId, runId },
    maximumPageSize: 50,
  });
  const failure = history?.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message;
  return `no worker can process the pipeline (attempt ${attempt})${failure ? `: ${failure}` : ''}`;
}

/**
 * Attempt and elapsed time of running steps, from the server's pending-activity info: the workflow only learns a
 * step's attempts when it ends, but each attempt's heartbeat names its step.
 */
export async function liveSteps(handle: WorkflowHandle, description?: WorkflowExecutionDescription): Promise<Map<string, LiveStep>> {
  const live = new Map<string, LiveStep>();
  const { raw } = description ?? (await handle.describe());
  for (const pending of raw.pendingActivities ?? []) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (payload === undefined || payload === null) continue;
    let details: Partial<RunTaskHeartbeat>;
    try {
      details = await decodePayload<Partial<RunTaskHeartbeat>>(handle.client.options.loadedDataConverter, payload);
    } catch {
      continue;
    }
    if (typeof details.step_id !== 'string') continue;
    live.set(details.step_id, {
      attempt: pending.attempt ?? 1,
      elapsedMs: details.elapsed_ms ?? 0,
      ...(pending.lastFailure?.message ? { lastFailure: pending.lastFailure.message } : {}),
    });
  }
  return live;
}
