/** `capsule status <workflowId>`: the workflow's state and, while a worker answers, each step's progress. */
import type { CommandIo } from '../io.js';
import { liveSteps } from '../../client/live-steps.js';
import { formatSteps } from '../format-outcome.js';
import { PROGRESS_QUERY, type PipelineProgress } from '../../workflows/shared.js';
import { withWorkflow } from './with-workflow.js';

export interface StatusOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export function status(options: StatusOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io, uiUrl }) => {
    const description = await handle.describe();
    const state = description.status.name;
    let progress: PipelineProgress | undefined;
    try {
      progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
    } catch {
      progress = undefined; // no worker to answer (or the workflow is closed and no worker is running)
    }
    if (options.json) {
      io.out(JSON.stringify({ workflowId: options.workflowId, status: state, startTime: description.startTime, closeTime: description.closeTime ?? null, steps: progress?.steps ?? null, ...(uiUrl === undefined ? {} : { uiUrl }) }));
    } else {
      io.out(`${options.workflowId}: ${state} (started ${description.startTime.toISOString()}${description.closeTime ? `, closed ${description.closeTime.toISOString()}` : ''})`);
      if (progress !== undefined) io.out(formatSteps(progress.steps, await liveSteps(handle)).join('\n'));
      else io.out('(step progress needs a running worker: capsule dev or capsule worker; the result is in: capsule result)');
      if (uiUrl !== undefined) io.out(`web UI: ${uiUrl}`);
      else io.out('(the embedded server stops with this command: run `capsule dev` to browse runs in the Web UI)');
    }
    return 0;
  });
}
