/**
 * Live per-step progress while a pipeline runs (client/progress-poll.ts). On a TTY the table is redrawn in place;
 * otherwise one line is printed per step state change.
 */
import logUpdate from 'log-update';
import type { WorkflowHandle } from '@temporalio/client';
import { pollProgress } from '../client/progress-poll.js';
import { stepNote } from '../workflows/step-notes.js';
import { formatSteps } from './format-outcome.js';
import { forTerminal } from './terminal-text.js';

export interface ProgressOptions {
  tty: boolean;
  write: (line: string) => void;
  /** Resolves to stop watching early (Ctrl-C detach). */
  stop: Promise<void>;
}

/** Shows progress until `done` settles or `stop` resolves; returns true when it stopped because of `stop`. */
export async function showProgress(handle: WorkflowHandle, done: Promise<unknown>, options: ProgressOptions): Promise<boolean> {
  let finished = false;
  let detached = false;
  void done.then(() => (finished = true), () => (finished = true));
  void options.stop.then(() => (detached = true));
  const seen = new Map<string, string>();
  let waitingShown = false;
  let troubleShown: string | undefined;
  for await (const reading of pollProgress(handle, done, options.stop)) {
    if (reading.kind === 'trouble') {
      if (reading.message !== troubleShown) options.write(reading.message);
      troubleShown = reading.message;
    } else if (reading.kind === 'waiting') {
      // No worker has picked the workflow up yet: say so once and keep polling.
      if (!waitingShown && !finished) options.write('waiting for a worker to pick up the pipeline...');
      waitingShown = true;
    } else if (options.tty) {
      const waiting = reading.steps
        .filter((step) => step.status === 'awaiting_approval')
        .map((step) => forTerminal(`${step.id} awaits approval: capsule approve ${handle.workflowId} ${step.id} [--reject]`));
      logUpdate([...formatSteps(reading.steps, reading.live), ...waiting].join('\n'));
    } else {
      for (const step of reading.steps) {
        const attempt = reading.live.get(step.id)?.attempt ?? step.attempts;
        const key = `${step.status}/${attempt}`;
        if (seen.get(step.id) === key) continue;
        seen.set(step.id, key);
        const note = step.status === 'awaiting_approval' || step.status === 'skipped' ? stepNote(step) : '';
        options.write(`step ${step.id}: ${step.status}${attempt > 0 ? ` (attempt ${attempt})` : ''}${note === '' ? '' : ` — ${forTerminal(note)}`}`);
        if (step.status === 'awaiting_approval') options.write(`  decide with: capsule approve ${handle.workflowId} ${step.id} [--reject] [--comment TEXT]`);
      }
    }
  }
  if (options.tty) logUpdate.done();
  return detached && !finished;
}
