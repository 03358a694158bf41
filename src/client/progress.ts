/**
 * Live per-step progress while a pipeline runs, read through the workflow's progress query (answered by any
 * worker). On a TTY the table is redrawn in place; otherwise one line is printed per step state change.
 */
import logUpdate from 'log-update';
import type { WorkflowHandle } from '@temporalio/client';
import { PROGRESS_QUERY, type PipelineProgress } from '../workflows/shared.js';
import { formatSteps } from './outcome.js';

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
  while (!finished && !detached) {
    try {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
      if (options.tty) logUpdate(formatSteps(progress.steps).join('\n'));
      else {
        for (const step of progress.steps) {
          const key = `${step.status}/${step.attempts}`;
          if (seen.get(step.id) === key) continue;
          seen.set(step.id, key);
          options.write(`step ${step.id}: ${step.status}${step.attempts > 0 ? ` (attempt ${step.attempts})` : ''}`);
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
