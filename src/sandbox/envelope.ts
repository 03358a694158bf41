/**
 * The result envelope every run returns (Capsule's shape, extended). It crosses process and Temporal boundaries,
 * so it has a zod schema; docs/envelope.md documents it with examples.
 */
import { z } from 'zod';

export const ERROR_TYPES = [
  'task_error',
  'fuel_exhausted',
  'memory_exceeded',
  'timeout',
  'permission_denied',
  'invalid_task',
  'internal_error',
] as const;
export const errorTypeSchema = z.enum(ERROR_TYPES);
export type ErrorType = z.infer<typeof errorTypeSchema>;

/** Failures the same code and input would hit again: retrying them only burns time. */
export const DETERMINISTIC_ERROR_TYPES: readonly ErrorType[] = ['fuel_exhausted', 'memory_exceeded', 'invalid_task', 'permission_denied'];

export const hostRequestSchema = z.object({
  method: z.string(),
  url: z.string(),
  /** HTTP status, or null when the request was denied or failed before a response. */
  status: z.number().int().nullable(),
  allowed: z.boolean(),
});
export type HostRequest = z.infer<typeof hostRequestSchema>;

export const denialSchema = z.object({
  capability: z.enum(['file', 'network', 'env', 'module']),
  /** What the guest tried to reach: a path, a URL, a variable or module name. */
  target: z.string(),
  reason: z.string(),
});
export type Denial = z.infer<typeof denialSchema>;

/** A sub-task option cut down to what its caller has (sub-tasks only narrow; see narrow.ts). */
export const narrowedOptionSchema = z.object({
  /** The task option, as authors write it: "compute", "ram", "timeout", "allowedFiles", ... */
  option: z.string(),
  /** What the sub-task declared (fuel units, bytes, milliseconds, or the list). */
  declared: z.unknown(),
  /** What it ran with. */
  granted: z.unknown(),
});
export type NarrowedOption = z.infer<typeof narrowedOptionSchema>;

export const executionSchema = z.object({
  task_name: z.string(),
  duration_ms: z.number().int().nonnegative(),
  retries: z.number().int().nonnegative(),
  fuel_consumed: z.number().int().nonnegative(),
  fuel_limit: z.number().int().nonnegative(),
  ram_used: z.number().int().nonnegative(),
  ram_limit: z.number().int().nonnegative(),
  host_requests: z.array(hostRequestSchema),
  denials: z.array(denialSchema),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  /** Only on a sub-task whose declaration asked for more than its caller has: what was cut. */
  narrowed: z.array(narrowedOptionSchema).optional(),
});
export type Execution = z.infer<typeof executionSchema>;

export const taskErrorSchema = z.object({
  error_type: errorTypeSchema,
  message: z.string(),
});
export type TaskError = z.infer<typeof taskErrorSchema>;

export const envelopeSchema = z.object({
  success: z.boolean(),
  result: z.unknown(),
  error: taskErrorSchema.nullable(),
  execution: executionSchema,
});
export type Envelope = z.infer<typeof envelopeSchema>;
