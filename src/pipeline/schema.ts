/**
 * The pipeline file format (YAML, JSON, or a TS module exporting the same object). Parsed with zod; unknown keys are
 * errors so a typo never silently drops a setting.
 */
import { z } from 'zod';
import { GRANT_OPTIONS, stepOverridesSchema, type LimitOverrides, type TaskOptionsInput } from '../config/task-options.js';
import { DURATION_EXPECTED, parseDuration } from '../config/units.js';
import { TemplateError } from '../workflows/errors.js';
import { isWholeReference, parseCondition } from '../workflows/template.js';
import { APPROVAL_TIMEOUT_OUTCOMES, CODE_LANGUAGES, maxLostAttemptsSchema } from '../workflows/shared.js';

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

/**
 * A code step's capabilities: the options a task file would declare. A code step has no declaration of its own
 * (whatever its code declares is ignored), so the pipeline grants them here; checked when the pipeline compiles.
 */
type GrantOptions = Pick<TaskOptionsInput, (typeof GRANT_OPTIONS)[number]>;
const codeGrants = Object.fromEntries(GRANT_OPTIONS.filter((option) => option !== 'secrets').map((option) => [option, z.unknown().optional()])) as unknown as {
  [K in Exclude<keyof GrantOptions, 'secrets'>]-?: z.ZodOptional<z.ZodType<GrantOptions[K]>>;
};

/** `llm:` a chat-completions call made by the worker (trusted code, no sandbox). Strings are templates. */
export const llmSchema = z.strictObject({
  model: z.string({ error: 'expected the model name, such as "gpt-4o-mini" (a template is fine: "{{ input.model }}")' }).min(1, 'expected a model name'),
  system: z.string().optional(),
  prompt: z.string({ error: 'expected the prompt text (a template such as "Summarise {{ steps.fetch.output }}")' }).min(1, 'expected a non-empty prompt'),
  /** "text" (default): the reply's text; "json": the reply parsed as JSON (a reply that is not JSON fails the step). */
  output: z.enum(['text', 'json'], 'expected "text" or "json"').optional(),
  temperature: z.number().min(0, 'expected a number from 0 to 2').max(2, 'expected a number from 0 to 2').optional(),
  maxTokens: z.number().int('expected a whole number of tokens').positive('expected a positive number of tokens').optional(),
  /** A JSON Schema the parsed reply must satisfy (with output: json). */
  schema: z.record(z.string(), z.unknown(), 'expected a JSON Schema object').optional(),
});

/** `approval:` waits for a person's decision (`capsule approve`), optionally for at most `timeout`. */
export const approvalSchema = z.strictObject({
  prompt: z.string({ error: 'expected the question to put to the approver' }).min(1, 'expected a non-empty prompt'),
  timeout: duration.optional(),
  /** What a timeout decides; default "reject". */
  onTimeout: z.enum(APPROVAL_TIMEOUT_OUTCOMES, 'expected "approve", "reject" or "fail"').optional(),
});

/** `when:` one reference, optionally negated; anything else (an expression, two references, text) is refused. */
const when = z.string().superRefine((text, ctx) => {
  try {
    parseCondition(text);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

/** The kinds of step; a step has exactly one of these keys. */
export const STEP_KINDS = ['task', 'code', 'llm', 'approval'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

const stepFields = z.strictObject({
  id: stepId,
  /** Task file relative to the pipeline file, optionally "#exportName" (default "main"). */
  task: z.string().min(1, 'expected a task file path such as "./tasks/fetch.ts" or "./tasks/score.py"').optional(),
  /** Source text to run in a fresh sandbox, usually a reference to an earlier step's output. */
  code: z.string().min(1, 'expected the code, or a reference to it such as "{{ steps.write.output.code }}"').optional(),
  language: z.enum(CODE_LANGUAGES, 'expected "javascript", "typescript" or "python"').optional(),
  llm: llmSchema.optional(),
  approval: approvalSchema.optional(),
  /** Run the step only when this reference is truthy (or falsy, with `not`); otherwise it is skipped. */
  when: when.optional(),
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
  ...codeGrants,
});

/** Fields that belong to some kinds only: naming one on another kind is an error, not silently ignored. */
const ONLY_FOR: Record<string, readonly StepKind[]> = {
  input: ['task', 'code'],
  forEach: ['task', 'code'],
  mounts: ['task', 'code'],
  maxLostAttempts: ['task', 'code'],
  language: ['code'],
  ...Object.fromEntries(Object.keys(stepOverridesSchema.shape).map((option) => [option, ['task', 'code']])),
  ...Object.fromEntries(Object.keys(codeGrants).map((option) => [option, ['code']])),
};

export const stepSchema = stepFields.superRefine((step, ctx) => {
  const kinds = STEP_KINDS.filter((kind) => step[kind] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: kinds.length === 0 ? [] : [kinds[1]!],
      message: kinds.length === 0
        ? 'expected one of "task" (a task file), "code" (source text to run), "llm" (a model call) or "approval" (a person\'s decision)'
        : `a step is one kind: it has both "${kinds[0]}" and "${kinds[1]}"`,
    });
    return;
  }
  const kind = kinds[0]!;
  if (kind === 'code' && step.language === undefined) {
    ctx.addIssue({ code: 'custom', path: ['language'], message: 'a code step needs its language: "javascript", "typescript" or "python"' });
  }
  for (const [field, kinds] of Object.entries(ONLY_FOR)) {
    if ((step as Record<string, unknown>)[field] !== undefined && !kinds.includes(kind)) {
      ctx.addIssue({ code: 'custom', path: [field], message: `not allowed on a ${kind} step (only on ${kinds.join(' and ')} steps)` });
    }
  }
  if (step.llm?.schema !== undefined && step.llm.output !== 'json') {
    ctx.addIssue({ code: 'custom', path: ['llm', 'schema'], message: 'only meaningful with `output: json` (a text reply is not checked against a schema)' });
  }
  if (step.approval?.onTimeout !== undefined && step.approval.timeout === undefined) {
    ctx.addIssue({ code: 'custom', path: ['approval', 'onTimeout'], message: 'only meaningful with a timeout: add `timeout`, such as "24h"' });
  }
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
