/**
 * The pipeline file format (YAML, JSON, or a TS module exporting the same object). Parsed with zod; unknown keys are
 * errors so a typo never silently drops a setting.
 */
import { z } from 'zod';
import { stepOverridesSchema, type LimitOverrides } from '../config/task-options.js';
import { DURATION_EXPECTED, parseDuration } from '../config/units.js';
import { isWholeReference } from '../workflows/template.js';
import { maxLostAttemptsSchema } from '../workflows/shared.js';

const stepId = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'expected an id of letters, digits, "_" or "-" starting with a letter or "_"');

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(value)}; expected ${DURATION_EXPECTED}` });
  return z.NEVER;
});

const maxLostAttempts = maxLostAttemptsSchema;

/**
 * A step's own limits and narrowed secrets: the options `stepOverridesSchema` names (config/task-options.ts), as
 * written. They are checked with the task's declaration when the pipeline compiles, so errors name the task too.
 */
const stepOverrides = Object.fromEntries(Object.keys(stepOverridesSchema.shape).map((option) => [option, z.unknown().optional()])) as unknown as {
  [K in keyof LimitOverrides]-?: z.ZodOptional<z.ZodType<LimitOverrides[K]>>;
};

/** What a fan-out runs over: a literal array, or one reference that renders to an array ("{{ steps.plan.output }}"). */
const forEach = z.unknown().superRefine((value, ctx) => {
  if (Array.isArray(value) || (typeof value === 'string' && isWholeReference(value))) return;
  ctx.addIssue({
    code: 'custom',
    message: `got ${JSON.stringify(value) ?? String(value)}; expected an array, or a single reference that evaluates to one such as "{{ steps.plan.output }}" or "{{ input.items }}"`,
  });
});

export const stepSchema = z.strictObject({
  id: stepId,
  /** Task file relative to the pipeline file, optionally "#exportName" (default "main"). */
  task: z.string().min(1, 'expected a task file path such as "./tasks/fetch.ts" or "./tasks/score.py"'),
  input: z.unknown().optional(),
  dependsOn: z.array(stepId).optional(),
  forEach: forEach.optional(),
  onFailure: z.enum(['fail', 'continue']).optional(),
  summary: z.string().max(200).optional(),
  ...stepOverrides,
  /** Attempts that may be lost to crashes, shutdowns and outages (apart from maxRetries). */
  maxLostAttempts: maxLostAttempts.optional(),
  /** More directories of the project for this step's task, as `HOST[::GUEST][:ro|:rw]` (read-only unless `:rw`). */
  mounts: z.array(z.string().min(1, 'expected HOST[::GUEST][:ro|:rw]')).optional(),
});
export type StepDefinition = z.output<typeof stepSchema>;

export const retrySchema = z.strictObject({
  initialInterval: duration.optional(),
  backoffCoefficient: z.number().min(1, 'expected a number >= 1').max(10, 'at most 10').optional(),
  maximumInterval: duration.optional(),
  heartbeatTimeout: duration.optional(),
  maxLostAttempts: maxLostAttempts.optional(),
});

export const pipelineSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a name of letters, digits, "_", "-" or "."'),
  description: z.string().optional(),
  /** Default input; `--input` replaces it. */
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  retry: retrySchema.optional(),
  steps: z.array(stepSchema).min(1, 'expected at least one step'),
});
export type PipelineDefinition = z.output<typeof pipelineSchema>;
export type PipelineDefinitionInput = z.input<typeof pipelineSchema>;

/** "steps[2].forEach" from a zod issue path, with the step's id when known: "steps[2] (fetch).forEach". */
export function fieldOf(path: readonly PropertyKey[], raw: unknown): string {
  let out = '';
  path.forEach((key, i) => {
    if (typeof key === 'number') {
      out += `[${key}]`;
      if (i === 1 && path[0] === 'steps') {
        const id = stepIdAt(raw, key);
        if (id !== undefined) out += ` (${id})`;
      }
    } else out += out === '' ? String(key) : `.${String(key)}`;
  });
  return out === '' ? '(top level)' : out;
}

function stepIdAt(raw: unknown, index: number): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const steps = (raw as { steps?: unknown }).steps;
  if (!Array.isArray(steps)) return undefined;
  const step: unknown = steps[index];
  if (typeof step !== 'object' || step === null) return undefined;
  const id = (step as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}
