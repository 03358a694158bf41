/**
 * An llm step in workflow code: its templates rendered, one callLlm activity (the worker makes the call), and the
 * record (model, token usage, latency, finish reason). Rate limits and server errors are retried by Temporal, each
 * retry waiting as long as the endpoint's Retry-After asks; other failures end the step.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CapsuleActivities } from '../activities/index.js';
import type { StepCall, StepRun } from './run-step.js';
import { llmResultSchema, type LlmCall, type RunContext } from './shared.js';
import { oversize } from './sizes.js';
import { summarizeStep } from './summary.js';
import { renderTemplate, type TemplateScope } from './template.js';

const { callLlm } = proxyActivities<CapsuleActivities>({ startToCloseTimeout: '6m' });

/** Calls per step: the first and up to five retries of rate limits, server errors and lost workers. */
const MAX_ATTEMPTS = 6;

/** A pipeline's llm call with its templates (model, system, prompt) rendered. */
export function renderLlmCall(template: LlmCall, scope: TemplateScope): LlmCall {
  return {
    ...template,
    model: text(renderTemplate(template.model, scope)),
    prompt: text(renderTemplate(template.prompt, scope)),
    ...(template.system === undefined ? {} : { system: text(renderTemplate(template.system, scope)) }),
  };
}

/** Makes the call (already rendered) as one callLlm activity; never throws for the call's failure, only for cancellation. */
export async function runLlmStep(ctx: RunContext, call: LlmCall, options: StepCall): Promise<StepRun> {
  const base = { id: options.id, step: options.step ?? options.id };
  const tooLarge = oversize(`the call of step "${options.id}"`, call);
  if (tooLarge !== undefined) return { record: summarizeStep(base, { status: 'failed', attempts: 0, lostAttempts: 0, failure: tooLarge }), output: null };
  const activity = { run_id: workflowInfo().runId, activity_id: options.id };
  try {
    const raw = await callLlm.executeWithOptions(
      {
        activityId: options.id,
        heartbeatTimeout: ctx.retry.heartbeatTimeoutMs,
        retry: {
          maximumAttempts: MAX_ATTEMPTS,
          initialInterval: ctx.retry.initialIntervalMs,
          backoffCoefficient: ctx.retry.backoffCoefficient,
          maximumInterval: ctx.retry.maximumIntervalMs,
        },
        summary: `${options.id} · llm ${call.model}${options.summary === undefined ? '' : ` — ${options.summary}`}`.slice(0, 200),
      },
      [{ stepId: options.id, call }],
    );
    const result = llmResultSchema.parse(raw);
    return { record: summarizeStep(base, { status: 'succeeded', attempts: result.attempt, lostAttempts: 0, llm: result.figures, activity }), output: result.output };
  } catch (error) {
    if (isCancellation(error)) throw error;
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    const failure = cause instanceof ApplicationFailure ? `${cause.type ?? 'llm'}: ${cause.message}` : cause?.message ?? (error instanceof Error ? error.message : String(error));
    return { record: summarizeStep(base, { status: 'failed', attempts: 0, lostAttempts: 0, failure, activity }), output: null };
  }
}

/** A rendered template as the text of a message: a whole reference to a non-string value becomes its JSON. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? 'null';
}
