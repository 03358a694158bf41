/**
 * What a run looks like while it runs, read every half second until it closes: its steps (the workflow's progress
 * query, answered by any worker) with each running step's attempt (from its heartbeat), or why nothing moves (no
 * worker yet, or workflow tasks that keep failing). `capsule run`/`watch` draw it (cli/progress.ts); the host
 * API turns it into step events (host/run-handle.ts).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY, type PipelineProgress, type StepRecord } from '../workflows/shared.js';
import { liveSteps, workflowTaskTrouble, type LiveStep } from './live-steps.js';

const POLL_MS = 500;

export type ProgressReading =
  | { kind: 'steps'; steps: StepRecord[]; live: Map<string, LiveStep> }
  /** No worker can process the run: the newest workflow task failure. */
  | { kind: 'trouble'; message: string }
  /** No worker has picked the run up yet (or it just finished). */
  | { kind: 'waiting' };

/** Readings until `done` settles or `stop` resolves. */
export async function* pollProgress(handle: WorkflowHandle, done: Promise<unknown>, stop: Promise<void> = new Promise(() => {})): AsyncGenerator<ProgressReading> {
  let ended = false;
  void done.then(() => (ended = true), () => (ended = true));
  void stop.then(() => (ended = true));
  while (!ended) {
    let reading: ProgressReading;
    try {
      const description = await handle.describe();
      // A worker that cannot process the workflow (a wrong key, a blob store it cannot reach, a workflow type it
      // does not have) is said, with the reason, instead of a query that would wait for its timeout.
      const trouble = await workflowTaskTrouble(handle, description);
      if (trouble !== undefined) reading = { kind: 'trouble', message: trouble };
      else {
        const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
        reading = { kind: 'steps', steps: progress.steps, live: await liveSteps(handle, description) };
      }
    } catch {
      reading = { kind: 'waiting' };
    }
    if (ended && reading.kind === 'waiting') return;
    yield reading;
    await Promise.race([done.catch(() => undefined), stop, new Promise((r) => setTimeout(r, POLL_MS))]);
  }
}
