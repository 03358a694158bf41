/** `capsule result <workflowId>`: waits for the pipeline to close and prints its result (exit 1 if it failed). */
import { openBackend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { processIo, type CommandIo } from '../../client/io.js';
import { awaitOutcome, formatOutcome, outcomeJson } from '../../client/outcome.js';
import { reportError } from './watch.js';

export interface ResultOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export async function result(options: ResultOptions): Promise<number> {
  const io = options.io ?? processIo();
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: false, env: io.env });
    const handle = backend.client.workflow.getHandle(options.workflowId);
    await handle.describe();
    const outcome = await awaitOutcome(handle);
    const uiUrl = workflowUrl(backend.config, options.workflowId, backend.uiUrl);
    io.out(options.json ? JSON.stringify(outcomeJson(outcome, uiUrl)) : formatOutcome(outcome, uiUrl));
    return outcome.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    await backend?.close();
  }
}
