/** `capsule watch <workflowId>`: reattach to a pipeline: live progress, then the result (as `run` prints it). */
import { openBackend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { describeUserError, onInterrupt, processIo, type CommandIo } from '../../client/io.js';
import { awaitOutcome, formatOutcome, outcomeJson } from '../../client/outcome.js';
import { showProgress } from '../../client/progress.js';

export interface WatchOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export async function watch(options: WatchOptions): Promise<number> {
  const io = options.io ?? processIo();
  const interrupt = io.interrupted === undefined ? onInterrupt() : { promise: io.interrupted, dispose: () => {} };
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  try {
    backend = await openBackend({ cwd: io.cwd, worker: true, report: (l) => (options.json ? undefined : io.err(l)), env: io.env });
    const handle = backend.client.workflow.getHandle(options.workflowId);
    await handle.describe();
    const uiUrl = workflowUrl(backend.config, options.workflowId, backend.uiUrl);
    const abandon = new AbortController();
    const done = awaitOutcome(handle, abandon.signal);
    const detached = options.json
      ? await Promise.race([done.then(() => false), interrupt.promise.then(() => true)])
      : await showProgress(handle, done, { tty: io.tty, write: io.err, stop: interrupt.promise });
    if (detached) {
      abandon.abort();
      await done.catch(() => undefined);
      return 0;
    }
    const outcome = await done;
    io.out(options.json ? JSON.stringify(outcomeJson(outcome, uiUrl)) : formatOutcome(outcome, uiUrl));
    return outcome.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    return reportError(io, error, options.workflowId);
  } finally {
    interrupt.dispose();
    await backend?.close();
  }
}

/** Shared by the id-taking commands: unknown ids and user errors are exit 2 with one line. */
export function reportError(io: CommandIo, error: unknown, workflowId: string): number {
  if (error instanceof Error && error.name === 'WorkflowNotFoundError') {
    io.err(`error: no workflow with id "${workflowId}" (list them in the Web UI or with: temporal workflow list)`);
    return 2;
  }
  const message = describeUserError(error);
  if (message === undefined) throw error;
  io.err(`error: ${message}`);
  return 2;
}
