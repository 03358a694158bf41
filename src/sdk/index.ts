/**
 * The task-authoring API, compatible with Capsule's TypeScript SDK: `import { task } from "capsule"` (or
 * "@capsule-run/sdk"). Task files are never imported on the host: the sandbox bundles them and, inside the guest,
 * these imports resolve to the sandbox's implementation (src/sandbox/guest/sdk.ts). This module gives authors
 * their types, and a clear error if a task file is run outside Capsule by mistake.
 */
import type { Envelope } from '../sandbox/envelope.js';
import type { TaskContext } from '../sandbox/guest/protocol.js';

export type { TaskContext };

export type ComputeLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'low' | 'medium' | 'high';

export interface TaskOptions {
  /** Required. The entry task is the one named "main" unless another is chosen. */
  name: string;
  /** Fuel: "LOW" = 100,000,000, "MEDIUM" = 2,000,000,000 (default), "HIGH" = 50,000,000,000, or a positive integer. */
  compute?: ComputeLevel | (string & {}) | number;
  /** Memory cap: "512KB", "64MB", "1GB" (binary units) or bytes. Default "256MB". */
  ram?: string | number;
  /** Wall-clock limit: "500ms", "30s", "2m" or milliseconds. Default "60s". */
  timeout?: string | number;
  /** Retries in pipelines (an integer >= 0). Default 0. */
  maxRetries?: number;
  /** Directories the task may use, relative to the directory Capsule runs in; a string is read-only. */
  allowedFiles?: (string | { path: string; mode?: 'read-only' | 'read-write' })[];
  /**
   * Hosts the task may fetch from: "api.example.com", "*.example.org", "api.example.com:8443", "[2001:db8::1]".
   * Empty: no network. Loopback and private addresses only when listed literally with their port ("127.0.0.1:8080").
   */
  allowedHosts?: string[];
  /** Host environment variables the task can see in process.env. */
  envVariables?: string[];
  /**
   * Secrets and the hosts their values may be sent to: `{ OPENAI_API_KEY: ["api.openai.com"] }`. process.env holds
   * a placeholder; Capsule puts the real value in request headers to those hosts only. Values come from the
   * worker's environment or `.env`/`.env.local`, never from the task or its input.
   */
  secrets?: Record<string, string[]>;
  /** Cap on each HTTP response body: "10MB" (default), "512KB" or bytes. */
  maxResponseSize?: string | number;
}

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
