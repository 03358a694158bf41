/**
 * Starting a hand-written Capsule workflow (one built with createSteps): bundle and validate its tasks, then start
 * it with the same run context the pipeline workflow gets.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { compileTasks, type TaskDescriber } from '../pipeline/compile.js';
import { PipelineError } from '../pipeline/errors.js';
import { DEFAULT_MAX_LOST_ATTEMPTS, DEFAULT_RETRY_TUNING, MAX_LOST_ATTEMPTS_LIMIT, type PipelineResult, type RetryTuning } from '../workflows/shared.js';
import type { TaskWorkflowInput } from '../workflows/steps.js';
import { hasSearchAttributes } from './connect.js';

export interface TaskWorkflowStart<I> {
  /** Exported workflow function name in src/workflows (e.g. "reviewLoop"). */
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
  const input: TaskWorkflowInput<I> = {
    name: start.name,
    input: start.input,
    tasks,
    bundles,
    baseDir: start.baseDir,
    defaults,
    retry,
    searchAttributes: await hasSearchAttributes(client),
  };
  return client.workflow.start(start.workflowType, {
    taskQueue: start.taskQueue,
    workflowId: start.workflowId,
    args: [input],
    staticSummary: `Capsule workflow ${start.workflowType}: ${start.name}`,
  });
}
