/**
 * Live per-step progress while a pipeline runs, read through the workflow's progress query (answered by any
 * worker). On a TTY the table is redrawn in place; otherwise one line is printed per step state change.
 */
import logUpdate from 'log-update';
import type { WorkflowHandle } from '@temporalio/client';
import { liveSteps, workflowTaskTrouble } from '../client/live-steps.js';
import { PROGRESS_QUERY, type PipelineProgress } from '../workflows/shared.js';
import { stepNote } from '../workflows/step-notes.js';
import { formatSteps } from './format-outcome.js';
import { forTerminal } from './terminal-text.js';

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
        const waiting = progress.steps.filter((step) => step.status === 'awaiting_approval').map((step) => forTerminal(`${step.id} awaits approval: capsule approve ${handle.workflowId} ${step.id} [--reject]`));
        if (options.tty) logUpdate([...formatSteps(progress.steps, live), ...waiting].join('\n'));
        else {
          for (const step of progress.steps) {
            const attempt = live.get(step.id)?.attempt ?? step.attempts;
            const key = `${step.status}/${attempt}`;
            if (seen.get(step.id) === key) continue;
            seen.set(step.id, key);
            const note = step.status === 'awaiting_approval' || step.status === 'skipped' ? stepNote(step) : '';
            options.write(`step ${step.id}: ${step.status}${attempt > 0 ? ` (attempt ${attempt})` : ''}${note === '' ? '' : ` — ${forTerminal(note)}`}`);
            if (step.status === 'awaiting_approval') options.write(`  decide with: capsule approve ${handle.workflowId} ${step.id} [--reject] [--comment TEXT]`);
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
