/** `capsule cancel <workflowId>`: requests cancellation; running steps are cancelled and their guests killed. */
import type { CommandIo } from '../../client/io.js';
import { withWorkflow } from './with-workflow.js';

export interface CancelOptions {
  workflowId: string;
  io?: CommandIo;
}

export function cancel(options: CancelOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io }) => {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      io.err(`${options.workflowId} is already closed (${status.name}); nothing to cancel`);
      return 1;
    }
    await handle.cancel();
    io.out(`cancellation requested for ${options.workflowId}; see it finish with: capsule status ${options.workflowId}`);
    return 0;
  });
}
