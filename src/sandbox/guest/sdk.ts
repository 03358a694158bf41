/**
 * The `capsule` / `@capsule-run/sdk` module as task code sees it inside the sandbox. `task()` registers a task;
 * calling the returned function from inside a running task starts a sub-task in its own fresh sandbox (the host
 * decides its limits from the file's declared options) and resolves to that sub-task's envelope.
 */
import { context as hostContext } from 'capsule:sandbox/host@0.1.0';
import { SUBTASK_HOST, type TaskContext } from './protocol.js';

export interface RegisteredTask {
  options: unknown;
  fn: (...args: unknown[]) => unknown;
  callable: (...args: unknown[]) => Promise<unknown>;
}

export const registry: RegisteredTask[] = [];

function taskName(options: unknown): string | undefined {
  return typeof options === 'object' && options !== null && typeof (options as { name?: unknown }).name === 'string'
    ? (options as { name: string }).name
    : undefined;
}

async function callSubtask(name: string, args: unknown[]): Promise<unknown> {
  let body: string;
  try {
    body = JSON.stringify({ args });
  } catch (error) {
    throw new TypeError(`sub-task "${name}": arguments must be JSON-serialisable (${String(error)})`);
  }
  const response = await fetch(`http://${SUBTASK_HOST}/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`sub-task "${name}" could not start: ${text}`);
  return JSON.parse(text) as unknown;
}

export function task<A extends unknown[], R>(options: unknown, fn: (...args: A) => R): (...args: A) => Promise<unknown> {
  if (typeof fn !== 'function') throw new TypeError('task(options, fn): fn must be a function');
  const callable = (...args: A) => {
    const name = taskName(options);
    if (name === undefined) return Promise.reject(new TypeError('task(): options.name is required to call a task'));
    return callSubtask(name, args);
  };
  registry.push({ options, fn: fn as (...args: unknown[]) => unknown, callable: callable as (...args: unknown[]) => Promise<unknown> });
  return callable;
}

let current: Readonly<TaskContext> | undefined;

/** Which run of which step this is: workflow and run id, step id, attempt, and an idempotency key for the step. */
export function context(): Readonly<TaskContext> {
  current ??= Object.freeze(JSON.parse(hostContext()) as TaskContext | null) ?? undefined;
  if (current === undefined) throw new Error('context() is only available while a task runs (not while Capsule reads the task options)');
  return current;
}

export const sdkModule = { task, context, default: { task, context } };
