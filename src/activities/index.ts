/** Activities the worker registers, built from their dependencies so tests and benchmarks can supply their own. */
import { createCallLlm, type LlmDeps } from './call-llm.js';
import { createRunTask, type ActivityDeps } from './run-task.js';

export type { ActivityDeps, TaskRunner } from './run-task.js';
export type { LlmDeps } from './call-llm.js';

export function createActivities(deps: ActivityDeps & LlmDeps) {
  return { runTask: createRunTask(deps), callLlm: createCallLlm(deps) };
}

export type CapsuleActivities = ReturnType<typeof createActivities>;
