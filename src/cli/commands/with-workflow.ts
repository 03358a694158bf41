/** What every command about one existing workflow shares: connect (never starting a worker), act, report, close. */
import type { WorkflowHandle } from '@temporalio/client';
import { openBackend } from '../../client/backend.js';
import { processIo, type CommandIo } from '../../client/io.js';
import { reportError } from './watch.js';

export type Backend = Awaited<ReturnType<typeof openBackend>>;

export interface WorkflowCommandContext {
  handle: WorkflowHandle;
  backend: Backend;
  io: CommandIo;
}

export async function withWorkflow(
  options: { workflowId: string; io?: CommandIo },
  act: (context: WorkflowCommandContext) => Promise<number>,
): Promise<number> {
  const io = options.io ?? processIo();
  let backend: Backend | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: false, env: io.env });
    return await act({ handle: backend.client.workflow.getHandle(options.workflowId), backend, io });
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    await backend?.close();
  }
}
