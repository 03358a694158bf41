/**
 * The callLlm activity: one chat-completions call of an llm step, made by the worker itself (trusted code: no
 * sandbox, nothing of the guest's). The endpoint and key are the worker's (config/llm.ts), so they never enter the
 * workflow's input, history or logs; an error message that quotes the key has it replaced.
 *
 * Retries are Temporal's, not the client's (its own are off): a 429 or a 5xx (or no response at all) is a
 * retryable failure whose next attempt waits as long as the server's Retry-After asks (`nextRetryDelay`); any
 * other 4xx is not retried. `output: json` parses the reply (a reply that is not JSON, or breaks `schema`, fails
 * for good: asking again is a new call, which is the pipeline's business).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import OpenAI from 'openai';
import { compileSchema } from '../config/json-schema.js';
import { workerLlmSettings, type LlmSettings } from '../config/llm.js';
import { callLlmInputSchema, checkContract, LLM_FAILURES, type CallLlmInput, type LlmCall, type LlmResult } from '../workflows/shared.js';

export interface LlmDeps {
  /** Where calls go; default: read when each call is made (capsule.toml [llm] in the worker's directory, environment). */
  llm?: () => LlmSettings;
  /** The worker's directory, for capsule.toml (default: the process's). */
  baseDir?: string;
}

/** Longest wait a Retry-After may ask for before the next attempt; a longer one is capped. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** One call's own limit; the activity's start-to-close timeout sits above it. */
const CALL_TIMEOUT_MS = 5 * 60_000;
const HEARTBEAT_MS = 1000;

export function createCallLlm(deps: LlmDeps) {
  const settingsOf = deps.llm ?? (() => workerLlmSettings(deps.baseDir ?? process.cwd()));
  return async function callLlm(raw: CallLlmInput): Promise<LlmResult> {
    const ctx = Context.current();
    const { stepId, call } = checkContract(callLlmInputSchema, raw, 'callLlm input');
    const settings = settingsOf();
    if (settings.apiKey === undefined) {
      throw ApplicationFailure.nonRetryable(`step "${stepId}": no API key for llm steps: set ${settings.keyVariable} where the worker runs (capsule.toml [llm] api_key_env names another variable)`, LLM_FAILURES.notConfigured);
    }
    const client = new OpenAI({ apiKey: settings.apiKey, ...(settings.baseURL === undefined ? {} : { baseURL: settings.baseURL }), maxRetries: 0, timeout: CALL_TIMEOUT_MS });
    const started = performance.now();
    ctx.log.info('llm call', { step: stepId, model: call.model, attempt: ctx.info.attempt });
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    // Heartbeats while the model thinks: a dead worker's call moves on after the heartbeat timeout, and a
    // cancellation reaches the request (the SDK throttles them to what the server needs).
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
    try {
      completion = await client.chat.completions.create(request(call), { signal: ctx.cancellationSignal });
    } catch (error) {
      throw failureOf(error, stepId, settings.apiKey);
    } finally {
      clearInterval(beat);
    }
    const latency = Math.round(performance.now() - started);
    const choice = completion.choices[0];
    const text = choice?.message.content ?? '';
    const usage = completion.usage;
    return {
      output: call.output === 'json' ? parsedReply(stepId, text, call.schema) : text,
      figures: {
        model: completion.model || call.model,
        usage: usage === undefined ? null : { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, total_tokens: usage.total_tokens },
        latency_ms: latency,
        finish_reason: choice?.finish_reason ?? null,
      },
      attempt: ctx.info.attempt,
    };
  };
}

function request(call: LlmCall): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
  return {
    model: call.model,
    messages: [...(call.system === undefined ? [] : [{ role: 'system' as const, content: call.system }]), { role: 'user', content: call.prompt }],
    ...(call.temperature === undefined ? {} : { temperature: call.temperature }),
    ...(call.maxTokens === undefined ? {} : { max_tokens: call.maxTokens }),
  };
}

/** The reply as JSON: a fenced block (```json ... ```) is read too, since models add one out of habit. */
function parsedReply(stepId: string, text: string, schema: Record<string, unknown> | undefined): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  let value: unknown;
  try {
    value = JSON.parse(fenced ? fenced[1]! : text);
  } catch (error) {
    throw ApplicationFailure.nonRetryable(`step "${stepId}": the reply is not JSON (${error instanceof Error ? error.message : String(error)}): ${preview(text)}`, LLM_FAILURES.invalidOutput);
  }
  if (schema !== undefined) {
    const validate = compileSchema(schema);
    if (!validate(value)) {
      const first = validate.errors?.[0];
      const where = first === undefined ? '' : `${first.instancePath || '(the reply)'} ${first.message ?? ''}`.trim();
      throw ApplicationFailure.nonRetryable(`step "${stepId}": the reply does not match the step's schema: ${where}: ${preview(text)}`, LLM_FAILURES.invalidOutput);
    }
  }
  return value;
}

/** A failed call as the activity's failure: retried (429, 5xx, no response) or not (any other 4xx). */
function failureOf(error: unknown, stepId: string, apiKey: string): unknown {
  if (!(error instanceof OpenAI.APIError)) return error;
  if (error instanceof OpenAI.APIUserAbortError) return error;
  const message = `step "${stepId}": ${redact(error.message, apiKey)}`;
  const status = error.status;
  if (status === undefined) return ApplicationFailure.retryable(`${message} (no response from the endpoint)`, LLM_FAILURES.serverError);
  const delay = retryAfterMs(error.headers);
  if (status === 429 || status >= 500) {
    return ApplicationFailure.create({
      type: status === 429 ? LLM_FAILURES.rateLimited : LLM_FAILURES.serverError,
      message,
      ...(delay === undefined ? {} : { nextRetryDelay: delay }),
    });
  }
  return ApplicationFailure.nonRetryable(message, LLM_FAILURES.rejected);
}

/** Retry-After in seconds or as an HTTP date, or retry-after-ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (headers?.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(wait)) return undefined;
  return Math.min(Math.max(0, Math.round(wait)), MAX_RETRY_AFTER_MS);
}

function redact(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('[redacted]');
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= 200 ? JSON.stringify(flat) : `${JSON.stringify(flat.slice(0, 197))}...`;
}
