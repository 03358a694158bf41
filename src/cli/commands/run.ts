/** `capsule run <pipeline-file | task-file>`: validate, submit, show live progress, print the result. */
import { Sandbox } from '../../sandbox/index.js';
import { openBackend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { preparePipeline, startPipeline } from '../../client/submit.js';
import { readInput, type InputOptions } from '../input.js';
import { followOrDetach } from './follow.js';

export interface RunOptions extends InputOptions {
  file: string;
  /** Submit and return at once with the workflow id. */
  detach?: boolean;
  /** One JSON object on stdout (workflowId, status, steps with envelopes); progress goes nowhere. */
  json?: boolean;
  /** `HOST[::GUEST][:ro|:rw]` mounts for every step (added to each step's own `mounts`). */
  mounts?: string[];
  io?: CommandIo;
}

export async function run(options: RunOptions): Promise<number> {
  const io = options.io ?? processIo();
  const info = (line: string) => (options.json ? undefined : io.err(line));
  // Detached, the sandbox only reads the task files' options: one thread does (many `run --detach` at once is a
  // common burst). Attached, it also runs the in-process worker's steps.
  const sandbox = await Sandbox.create(options.detach ? { poolSize: 1 } : {});
  let backend: Awaited<ReturnType<typeof openBackend>> | undefined;
  const interrupt = interruptFor(io);
  try {
    // Everything that can be wrong with the files is found here, before any server or workflow is touched.
    const given = await readInput(options, io);
    const input = await preparePipeline({
      file: options.file,
      cwd: io.cwd,
      describer: sandbox,
      mounts: options.mounts ?? [],
      ...(given === undefined ? {} : { inputJson: given.text, inputSource: given.source }),
    });
    backend = await openBackend({ cwd: io.cwd, worker: !options.detach, sandbox, report: info, env: io.env });
    const handle = await startPipeline(backend.client, input, { taskQueue: backend.config.taskQueue });
    const uiUrl = workflowUrl(backend.config, handle.workflowId, backend.uiUrl);
    info(`pipeline ${input.name}: workflow ${handle.workflowId}${uiUrl === undefined ? '' : ` (${uiUrl})`}`);
    return await followOrDetach(handle, {
      detach: options.detach === true,
      json: options.json === true,
      io,
      interrupted: interrupt.promise,
      uiUrl,
      onDetach: () => info(`detached; the pipeline keeps its state. Reattach with: capsule watch ${handle.workflowId}`),
    });
  } catch (error) {
    return reportUserError(io, error);
  } finally {
    interrupt.dispose();
    await backend?.close();
    await sandbox.close();
  }
}
