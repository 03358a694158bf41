/** What every command about one existing workflow shares: connect (never starting a worker), act, report, close. */
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { openBackend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';

export type Backend = Awaited<ReturnType<typeof openBackend>>;

export interface WorkflowCommandContext {
  handle: WorkflowHandle;
  backend: Backend;
  io: CommandIo;
  /** The run's Web UI page, only where the server outlives this command (not an embedded one it started). */
  uiUrl: string | undefined;
}

export async function withWorkflow(
  options: { workflowId: string; io?: CommandIo },
  act: (context: WorkflowCommandContext) => Promise<number>,
): Promise<number> {
  const io = options.io ?? processIo();
  let backend: Backend | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: false, env: io.env });
    const uiUrl = backend.kind === 'embedded' ? undefined : workflowUrl(backend.config, options.workflowId, backend.uiUrl);
    return await act({ handle: backend.client.workflow.getHandle(options.workflowId), backend, io, uiUrl });
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    await backend?.close();
  }
}

/** Shared by the id-taking commands: unknown ids and user errors are exit 2 with one line. */
export function reportError(io: CommandIo, error: unknown, workflowId: string): number {
  if (error instanceof WorkflowNotFoundError) {
    io.err(`error: no workflow with id "${workflowId}" (list them in the Web UI or with: temporal workflow list)`);
    return 2;
  }
  return reportUserError(io, error);
}
