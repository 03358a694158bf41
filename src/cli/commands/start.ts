/**
 * `capsule start <workflowType>`: start a workflow of your own (written with `capsule/workflow`) with the tasks it
 * names, then follow it as `capsule run` does (live progress, `--json`, Ctrl-C detaches). With the embedded server
 * the worker runs here, with `--workflows` bundled next to Capsule's; with a configured server (or `capsule dev`)
 * the workers are elsewhere and must have the workflow (`capsule worker --workflows FILE`).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openBackend, type Backend } from '../../client/backend.js';
import { workflowUrl } from '../../client/config.js';
import { parseInput } from '../../client/input.js';
import { checkWorkflowType, prepareTaskWorkflow, startPreparedTaskWorkflow } from '../../client/task-workflow.js';
import { checkWorkflowsFile, workflowBundle } from '../../client/workflow-bundle.js';
import { Sandbox } from '../../sandbox/index.js';
import { UsageError } from '../errors.js';
import { reportUserError } from '../exit-codes.js';
import { readInput, type InputOptions } from '../input.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { followOrDetach } from './follow.js';

export interface StartCommandOptions extends InputOptions {
  workflowType: string;
  /** The workflows file the worker in this process bundles with Capsule's. */
  workflows?: string;
  /** `key=path/to/task.ts[#export]` specs: the tasks the workflow's steps name. */
  tasks: string[];
  detach?: boolean;
  json?: boolean;
  io?: CommandIo;
}

export async function start(options: StartCommandOptions): Promise<number> {
  const io = options.io ?? processIo();
  const info = (line: string) => (options.json ? undefined : io.err(line));
  const sandbox = await Sandbox.create(options.detach ? { poolSize: 1 } : {});
  let backend: Backend | undefined;
  const interrupt = interruptFor(io);
  try {
    // Every file is checked here, before any server or workflow is touched.
    const tasks = taskSpecs(options.tasks);
    const workflows = options.workflows === undefined ? undefined : checkWorkflowsFile(path.resolve(io.cwd, options.workflows));
    const given = await readInput(options, io);
    const input = given === undefined ? {} : parseInput(given);
    const { workflowType } = options;
    const prepared = await prepareTaskWorkflow({ workflowType, name: workflowType, input, tasks, baseDir: io.cwd, describer: sandbox });
    // Bundled now (and cached for the worker), so workflow code that does not bundle fails before a server starts.
    if (workflows !== undefined && !options.detach) await workflowBundle({ workflowsPath: workflows });
    backend = await openBackend({ cwd: io.cwd, worker: !options.detach, sandbox, report: info, env: io.env, ...(workflows === undefined ? {} : { workflowsPath: workflows }) });
    const workflowId = `${workflowType}-${randomUUID().slice(0, 12)}`;
    const handle = await startPreparedTaskWorkflow(backend.client, prepared, { workflowType, workflowId, taskQueue: backend.config.taskQueue });
    await checkWorkflowType(handle, workflowType, backend.config.taskQueue, backend.workerWorkflows());
    const uiUrl = workflowUrl(backend.config, workflowId, backend.uiUrl);
    info(`workflow ${workflowType}: ${workflowId}${uiUrl === undefined ? '' : ` (${uiUrl})`}`);
    return await followOrDetach(handle, {
      detach: options.detach === true,
      json: options.json === true,
      io,
      interrupted: interrupt.promise,
      uiUrl,
      onDetach: () => info(`detached; the workflow keeps its state. Reattach with: capsule watch ${workflowId}`),
    });
  } catch (error) {
    return reportUserError(io, error);
  } finally {
    interrupt.dispose();
    await backend?.close();
    await sandbox.close();
  }
}

/** `--task key=path` specs as the task map; UsageError naming a malformed or repeated one. */
function taskSpecs(specs: string[]): Record<string, string> {
  const tasks: Record<string, string> = {};
  for (const spec of specs) {
    const at = spec.indexOf('=');
    const key = spec.slice(0, at);
    const file = spec.slice(at + 1);
    if (at <= 0 || file === '') throw new UsageError(`--task ${spec}: expected KEY=PATH, such as draft=./tasks/draft.ts`);
    if (key in tasks) throw new UsageError(`--task ${spec}: task key "${key}" is given twice`);
    tasks[key] = file;
  }
  return tasks;
}
