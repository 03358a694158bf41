/**
 * `capsule cancel <workflowId>`: requests cancellation; running steps are cancelled and their guests killed. A
 * cancellation is carried out by the workflow's own code, so it waits for a worker that can run it: when none polls
 * the run's task queue, or the run's workflow tasks keep failing, cancel says so (exit 1) and names the command that
 * stops the run regardless: `capsule terminate`.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { hasWorkflowPollers } from '../../client/pollers.js';
import type { CommandIo } from '../io.js';
import { withWorkflow } from './with-workflow.js';

export interface CancelOptions {
  workflowId: string;
  io?: CommandIo;
}

export function cancel(options: CancelOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, backend, io }) => {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') {
      io.err(`${options.workflowId} is already closed (${description.status.name}); nothing to cancel`);
      return 1;
    }
    await handle.cancel();
    const obstacle = await whyItCannotAct(backend.client, description);
    if (obstacle !== undefined) {
      io.err(
        `cancellation requested for ${options.workflowId}, but the run cannot act on it: ${obstacle}. ` +
          `It takes effect once a worker runs the workflow; to stop the run now: capsule terminate ${options.workflowId} --reason "..."`,
      );
      return 1;
    }
    io.out(`cancellation requested for ${options.workflowId}; see it finish with: capsule status ${options.workflowId}`);
    return 0;
  });
}

/** Why the workflow's code cannot run now to carry out a cancellation, or undefined when nothing stands in the way. */
async function whyItCannotAct(client: Client, description: WorkflowExecutionDescription): Promise<string | undefined> {
  const failing = description.raw.pendingWorkflowTask?.attempt ?? 0;
  if (failing > 1) {
    return `its workflow tasks are failing (attempt ${failing}): the worker cannot run the workflow's code (see the worker's log for the error)`;
  }
  if (!(await hasWorkflowPollers(client, description.taskQueue))) return `no worker polls its task queue "${description.taskQueue}" (start one with: capsule worker, or capsule dev)`;
  return undefined;
}
