/** `capsule watch <workflowId>`: reattach to a pipeline: live progress, then the result (as `run` prints it). */
import { openBackend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { follow } from './follow.js';
import { reportError } from './with-workflow.js';

export interface WatchOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export async function watch(options: WatchOptions): Promise<number> {
  const io = options.io ?? processIo();
  const interrupt = interruptFor(io);
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: true, report: (l) => (options.json ? undefined : io.err(l)), env: io.env });
    const handle = backend.client.workflow.getHandle(options.workflowId);
    await handle.describe();
    const uiUrl = workflowUrl(backend.config, options.workflowId, backend.uiUrl);
    return await follow(handle, { json: options.json === true, io, interrupted: interrupt.promise, uiUrl });
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    interrupt.dispose();
    await backend?.close();
  }
}
