/**
 * What crosses the component boundary as JSON. Shared by the guest runner and the host (src/sandbox/host), so
 * both sides agree on one definition. Pure types and constants: safe to import in both worlds.
 */

export interface DescribeRequest {
  mode: 'describe';
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
}

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
}

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
