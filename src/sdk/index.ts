/**
 * The task-authoring API, compatible with Capsule's TypeScript SDK: `import { task } from "capsule"` (or
 * "@capsule-run/sdk"). Task files are never imported on the host: the sandbox bundles them and, inside the guest,
 * these imports resolve to the sandbox's implementation (src/sandbox/guest/sdk.ts). This module gives authors
 * their types, and a clear error if a task file is run outside Capsule by mistake.
 */
import type { TaskOptionsInput } from '../config/task-options.js';
import type { Envelope } from '../sandbox/envelope.js';
import type { TaskContext } from '../sandbox/guest/protocol.js';

export type { TaskContext };

export type ComputeLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'low' | 'medium' | 'high';

/** What `task()` takes: the one declaration of task options (src/config/task-options.ts), as authors write them. */
export type TaskOptions = TaskOptionsInput;

/** Calling a task from inside another task runs it as a sub-task in its own sandbox and resolves to its envelope. */
export type TaskFunction<A extends unknown[]> = (...args: A) => Promise<Envelope>;

export function task<A extends unknown[], R>(options: TaskOptions, fn: (...args: A) => R | Promise<R>): TaskFunction<A> {
  void fn;
  return () =>
    Promise.reject(
      new Error(`task "${options.name}" can only run inside Capsule: use \`capsule exec <file>\` or a pipeline`),
    );
}

/**
 * Which run of which step this is, for making side effects idempotent: `{ workflowId, runId, stepId, attempt,
 * idempotencyKey }`. The key is the same on every attempt of a pipeline step (a lost attempt may have done part of
 * the work: pass the key to the APIs you call), and different for each new run. Outside a pipeline (`capsule
 * exec`) the ids are null and the key is fresh for each run. Available while a task runs, inside Capsule.
 */
export function context(): Readonly<TaskContext> {
  throw new Error('context() is only available inside Capsule, while a task runs: use `capsule exec <file>` or a pipeline');
}

export default { task, context };
