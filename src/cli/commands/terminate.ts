/**
 * `capsule terminate <workflowId> [--reason text]`: ends a run at once, on the server, without running any of its
 * code: the way to stop a run that cannot act on a cancellation (no worker, failing workflow tasks). Steps in flight
 * are abandoned: their guests are stopped when their next heartbeat finds the run gone.
 */
import type { CommandIo } from '../io.js';
import { withWorkflow } from './with-workflow.js';

export interface TerminateOptions {
  workflowId: string;
  reason?: string;
  io?: CommandIo;
}

export const DEFAULT_TERMINATE_REASON = 'terminated with capsule terminate';

export function terminate(options: TerminateOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io }) => {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      io.err(`${options.workflowId} is already closed (${status.name}); nothing to terminate`);
      return 1;
    }
    const reason = options.reason ?? DEFAULT_TERMINATE_REASON;
    await handle.terminate(reason);
    io.out(`terminated ${options.workflowId} (reason: ${reason}); steps still running are stopped at their next heartbeat`);
    return 0;
  });
}
