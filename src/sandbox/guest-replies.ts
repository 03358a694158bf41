/**
 * Reading what a runner returns: its result JSON, its describe listing, its failure. All of it is produced inside
 * the guest, where a task can replace `JSON.stringify`, return a function or throw a symbol, so nothing is taken on
 * trust: each reply is parsed with size and depth limits and a schema, and a reply that does not fit is "malformed"
 * with a reason (the caller turns that into an internal_error envelope; the host carries on).
 */
import { z } from 'zod';
import { parseBoundedJson } from './bounded-json.js';
import { firstIssue } from '../zod-issue.js';
import type { DescribedTask, GuestFailure } from './guest/protocol.js';
import { MAX_FAILURE_CHARS, MAX_RESULT_CHARS } from './host/wire-limits.js';

/** `limit`: the reply is JSON but over a size or depth limit, which is the task's doing rather than garbage. */
export type Reply<T> = { ok: true; value: T } | { ok: false; reason: string; limit?: true };

const failureSchema = z.object({
  kind: z.enum(['task_error', 'invalid_task']),
  message: z.string(),
  stack: z.string().optional(),
});

// zod 4: an object key of z.unknown() is required, so `{}` is malformed too. Built once: zod compiles each schema's
// parser at its first use, which costs more than the parse (~0.1 ms a run when this was built per reply).
const runReplySchema = z.object({ result: z.unknown(), script: z.literal(true).optional() });

const describeSchema = z.object({
  tasks: z.array(z.object({ exportName: z.string().max(1024).nullable(), options: z.unknown() })).max(10_000),
});

function parsed<T>(text: string, maxChars: number, schema: z.ZodType<T>, what: string): Reply<T> {
  const json = parseBoundedJson(text, { maxChars });
  if (!json.ok) return json.limit ? { ok: false, reason: `the task's ${what} cannot be returned: ${json.reason}`, limit: true } : { ok: false, reason: `its ${what} is malformed: ${json.reason}` };
  const checked = schema.safeParse(json.value);
  if (!checked.success) {
    const { field, message } = firstIssue(checked.error);
    return { ok: false, reason: `its ${what} is malformed: ${field || 'the value'}: ${message}` };
  }
  return { ok: true, value: checked.data };
}

/**
 * `{"result": ...}` from a run: the task's result, which must be there (null stands for nothing); `script` when a
 * program without `main` ran as a script (its result is its stdout, which the host has).
 */
export function readRunReply(resultJson: string): Reply<{ result: unknown; script: boolean }> {
  const reply = parsed(resultJson, MAX_RESULT_CHARS, runReplySchema, 'result');
  return reply.ok ? { ok: true, value: { result: reply.value.result, script: reply.value.script === true } } : reply;
}

export function readDescribeReply(resultJson: string): Reply<DescribedTask[]> {
  const reply = parsed(resultJson, MAX_RESULT_CHARS, describeSchema, 'task listing');
  return reply.ok ? { ok: true, value: reply.value.tasks } : reply;
}

/** The runner's `err` payload: `{"kind", "message", "stack"?}`. */
export function readFailure(payload: string): Reply<GuestFailure> {
  return parsed(payload, MAX_FAILURE_CHARS, failureSchema, 'failure report');
}
