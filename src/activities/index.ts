/** Activities the worker registers, built from their dependencies so tests and benchmarks can supply their own. */
import { createRunTask, type ActivityDeps } from './run-task.js';

export type { ActivityDeps, TaskRunner } from './run-task.js';

export function createActivities(deps: ActivityDeps) {
  return { runTask: createRunTask(deps) };
}

export type CapsuleActivities = ReturnType<typeof createActivities>;
