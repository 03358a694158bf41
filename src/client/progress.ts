/**
 * Live per-step progress while a pipeline runs, read through the workflow's progress query (answered by any
 * worker). On a TTY the table is redrawn in place; otherwise one line is printed per step state change.
 */
import logUpdate from 'log-update';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { decodePayload } from '../payloads/data-converter.js';
import { PROGRESS_QUERY, type PipelineProgress, type RunTaskHeartbeat } from '../workflows/shared.js';
import { formatSteps, type LiveStep } from './outcome.js';

const POLL_MS = 500;

export interface ProgressOptions {
  tty: boolean;
  write: (line: string) => void;
  /** Resolves to stop watching early (Ctrl-C detach). */
  stop: Promise<void>;
}

/** Polls until `done` settles or `stop` resolves; returns true when it stopped because of `stop`. */
export async function showProgress(handle: WorkflowHandle, done: Promise<unknown>, options: ProgressOptions): Promise<boolean> {
  let finished = false;
  let detached = false;
  void done.then(() => (finished = true), () => (finished = true));
  void options.stop.then(() => (detached = true));
  const seen = new Map<string, string>();
  let waitingShown = false;
  let troubleShown: string | undefined;
  while (!finished && !detached) {
    try {
      const description = await handle.describe();
      // A worker that cannot process the workflow (a wrong key, a blob store it cannot reach) is said, with the
      // reason, instead of a query that would wait for its timeout.
      const trouble = await workflowTaskTrouble(handle, description);
      if (trouble !== undefined) {
        if (trouble !== troubleShown) options.write(trouble);
        troubleShown = trouble;
      } else {
        const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
        const live = await liveSteps(handle, description);
        if (options.tty) logUpdate(formatSteps(progress.steps, live).join('\n'));
        else {
          for (const step of progress.steps) {
            const attempt = live.get(step.id)?.attempt ?? step.attempts;
            const key = `${step.status}/${attempt}`;
            if (seen.get(step.id) === key) continue;
            seen.set(step.id, key);
            options.write(`step ${step.id}: ${step.status}${attempt > 0 ? ` (attempt ${attempt})` : ''}`);
          }
        }
      }
    } catch {
      // No worker has picked the workflow up yet (or it just finished): say so once and keep polling.
      if (!waitingShown && !finished) options.write('waiting for a worker to pick up the pipeline...');
      waitingShown = true;
    }
    await Promise.race([done.catch(() => undefined), options.stop, new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  if (options.tty) logUpdate.done();
  return detached && !finished;
}

/** Why the workflow makes no progress, when its workflow tasks keep failing: the newest failure in its history. */
async function workflowTaskTrouble(handle: WorkflowHandle, { raw, runId }: WorkflowExecutionDescription): Promise<string | undefined> {
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
