/** `capsule cancel <workflowId>`: requests cancellation; running steps are cancelled and their guests killed. */
import { openBackend } from '../../client/backend.js';
import { processIo, type CommandIo } from '../../client/io.js';
import { reportError } from './watch.js';

export interface CancelOptions {
  workflowId: string;
  io?: CommandIo;
}

export async function cancel(options: CancelOptions): Promise<number> {
  const io = options.io ?? processIo();
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: false, env: io.env });
    const handle = backend.client.workflow.getHandle(options.workflowId);
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      io.err(`${options.workflowId} is already closed (${status.name}); nothing to cancel`);
      return 1;
    }
    await handle.cancel();
    io.out(`cancellation requested for ${options.workflowId}; see it finish with: capsule status ${options.workflowId}`);
    return 0;
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    await backend?.close();
  }
}
