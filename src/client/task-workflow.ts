/**
 * Starting a hand-written Capsule workflow (one built with createSteps): bundle and validate its tasks, then start
 * it with the same run context the pipeline workflow gets.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { compileTasks, type TaskDescriber } from '../pipeline/compile.js';
import { PipelineError } from '../pipeline/errors.js';
import { CAPSULE_WORKFLOW_TYPES, DEFAULT_MAX_LOST_ATTEMPTS, DEFAULT_RETRY_TUNING, MAX_LOST_ATTEMPTS_LIMIT, type PipelineResult, type RetryTuning } from '../workflows/shared.js';
import type { TaskWorkflowInput } from '../workflows/steps.js';
import { hasSearchAttributes } from './connect.js';
import { UnknownWorkflowTypeError } from './errors.js';
import { hasWorkflowPollers } from './pollers.js';

export interface TaskWorkflowStart<I> {
  /** Exported workflow function name: Capsule's (e.g. "reviewLoop") or one of a user's workflows file. */
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  name: string;
  input: I;
  /** Task key -> "path/to/task.ts#taskName", relative to baseDir. */
  tasks: Record<string, string>;
  baseDir: string;
  describer: TaskDescriber;
  retry?: Partial<RetryTuning>;
}

export async function startTaskWorkflow<I>(client: Client, start: TaskWorkflowStart<I>): Promise<WorkflowHandle<(input: TaskWorkflowInput<I>) => Promise<PipelineResult>>> {
  return startPreparedTaskWorkflow(client, await prepareTaskWorkflow(start), start);
}

/** Bundles and validates the tasks (nothing needs a server yet, so a bad file fails before anything starts). */
export async function prepareTaskWorkflow<I>(start: Omit<TaskWorkflowStart<I>, 'workflowId' | 'taskQueue'>): Promise<TaskWorkflowInput<I>> {
  const defaults = loadCapsuleConfig(start.baseDir).tasks;
  const retry: RetryTuning = { ...DEFAULT_RETRY_TUNING, maxLostAttempts: defaults.maxLostAttempts ?? DEFAULT_MAX_LOST_ATTEMPTS, ...start.retry };
  if (!Number.isSafeInteger(retry.maxLostAttempts) || retry.maxLostAttempts < 0 || retry.maxLostAttempts > MAX_LOST_ATTEMPTS_LIMIT) {
    throw new PipelineError(start.workflowType, 'retry.maxLostAttempts', `got ${retry.maxLostAttempts}; expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`);
  }
  const { bundles, tasks } = await compileTasks(start.workflowType, start.tasks, {
    baseDir: start.baseDir,
    defaults,
    describer: start.describer,
    searchAttributes: false,
    maxLostAttempts: retry.maxLostAttempts,
  });
  return { name: start.name, input: start.input, tasks, bundles, baseDir: start.baseDir, defaults, retry, searchAttributes: false };
}

export async function startPreparedTaskWorkflow<I>(
  client: Client,
  input: TaskWorkflowInput<I>,
  start: Pick<TaskWorkflowStart<I>, 'workflowType' | 'workflowId' | 'taskQueue'>,
): Promise<WorkflowHandle<(input: TaskWorkflowInput<I>) => Promise<PipelineResult>>> {
  return client.workflow.start(start.workflowType, {
    taskQueue: start.taskQueue,
    workflowId: start.workflowId,
    args: [{ ...input, searchAttributes: await hasSearchAttributes(client) }],
    staticSummary: `Capsule workflow ${start.workflowType}: ${input.name}`,
  });
}

const INIT_FAILURE = /Failed to initialize workflow of type '([^']*)': no such function is exported by the workflow bundle/;

/**
 * Checks that the workers have the run's workflow type, when a worker is there to say so: this process's own
 * (`workflows` names its workflows file, or null for Capsule's only) or any polling the task queue. With none
 * polling, the run waits for a worker like any other and progress reports a missing type then.
 */
export async function checkWorkflowType(handle: WorkflowHandle, workflowType: string, taskQueue: string, workflows: string | null | undefined): Promise<void> {
  const where = workflows === undefined ? `the workflows of the workers polling task queue "${taskQueue}"` : workflows ?? "Capsule's workflows (give your workflows file too)";
  if (workflows !== undefined || (await hasWorkflowPollers(handle.client, taskQueue))) await confirmWorkflowType(handle, workflowType, where);
}

/**
 * For a run a polling worker serves: waits for its first workflow task. When the worker has no such
 * workflow type, the run is terminated (nothing is left retrying it) and UnknownWorkflowTypeError names the type
 * and where the worker's workflows came from. Returns once the first task completed (or the run closed).
 */
export async function confirmWorkflowType(handle: WorkflowHandle, workflowType: string, workflows: string): Promise<void> {
  for (;;) {
    const history = await handle.fetchHistory();
    for (const event of history.events ?? []) {
      if (event.workflowTaskCompletedEventAttributes || event.workflowExecutionCompletedEventAttributes || event.workflowExecutionFailedEventAttributes) return;
      const failure = event.workflowTaskFailedEventAttributes?.failure?.message;
      if (failure !== undefined && failure !== null && INIT_FAILURE.test(failure)) {
        await handle.terminate(`the worker has no workflow "${workflowType}"`).catch(() => undefined);
        throw new UnknownWorkflowTypeError(`no workflow "${workflowType}" in ${workflows} (Capsule's own: ${CAPSULE_WORKFLOW_TYPES.join(', ')}); run ${handle.workflowId} was terminated`);
      }
    }
    if ((await handle.describe()).status.name !== 'RUNNING') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
