/**
 * What crosses the component boundary as JSON. Shared by the guest runner and the host (src/sandbox/host), so
 * both sides agree on one definition. Pure types and constants: safe to import in both worlds.
 */

export interface DescribeRequest {
  mode: 'describe';
}

/**
 * What a task's context() returns: which run of which step this is, so side effects can be made idempotent. The
 * key is the same for every attempt of a step (and across continue-as-new), different for a new run. The guest reads
 * it from the host (the `context` import) only when the task asks for it.
 */
export interface TaskContext {
  /** The Temporal workflow (pipeline run) id; null outside a pipeline (`capsule exec`). */
  workflowId: string | null;
  /** The workflow's current run id; null outside a pipeline. */
  runId: string | null;
  /** The step id, with the item index for a fan-out ("fetch[2]"); null outside a pipeline. */
  stepId: string | null;
  /** 1 on the first attempt; counts every attempt, lost ones included. */
  attempt: number;
  /** 32 hex characters. Outside a pipeline: a fresh random key per run. */
  idempotencyKey: string;
}

export interface RunTaskRequest {
  mode: 'run';
  /** Task name (its `name` option) or export name. */
  task: string;
  args: unknown[];
  /** Only the variables the task lists in envVariables, taken from the host by the host. */
  env: Record<string, string>;
  /** Listed in envVariables but not set on the host: absent in the guest, and reading them is no denial. */
  unsetEnv: string[];
  /**
   * Present when the source is code given as text (a program, sandbox/source-program.ts) and `task` is "main": the
   * entry is the code's `main`, whatever declares it (a task named main, a task or plain function bound to `main`).
   * Without one, 'script' keeps what the top level did as the whole run (the reply says `script`), 'invalid_task'
   * fails the run.
   */
  program?: { withoutMain: WithoutMain };
}

/** What a program without a `main` does: runs as a script (its stdout is the result), or is an invalid task. */
export type WithoutMain = 'script' | 'invalid_task';

export type GuestRequest = DescribeRequest | RunTaskRequest;

export interface DescribedTask {
  exportName: string | null;
  /** The options object as the task declared it (JSON-safe copy); validated on the host. */
  options: unknown;
}

export interface DescribeResponse {
  tasks: DescribedTask[];
}

export interface RunResponse {
  result: unknown;
  /** A program that had no `main` ran as a script: its result is its stdout (the host has it). */
  script?: true;
}

/**
 * The name a JavaScript program's `main` binding is also exported under (source-program.ts appends the export), so
 * the runner finds a `main` the code never exported.
 */
export const PROGRAM_MAIN_EXPORT = '__capsuleProgramMain';

/** Thrown (as a JSON string) out of the guest's `run` export. */
export interface GuestFailure {
  kind: 'task_error' | 'invalid_task';
  message: string;
  stack?: string;
}

export type FsOp = 'readFile' | 'writeFile' | 'appendFile' | 'readdir' | 'stat' | 'lstat' | 'exists' | 'mkdir' | 'rm' | 'rename' | 'unlink' | 'rmdir';

export type FsReply = { ok: unknown } | { error: { code: string; message: string } };

/**
 * Sub-task calls leave the guest as a fetch to this origin; the host's HTTP import routes them to the pool
 * (they never reach a network). A fetch is the guest's only asynchronous primitive, so this keeps concurrent
 * sub-task calls concurrent without a custom async ABI.
 */
export const SUBTASK_HOST = 'capsule-subtask.internal';
