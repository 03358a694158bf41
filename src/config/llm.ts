/**
 * Where llm steps send their calls: the OpenAI client's own conventions (OPENAI_BASE_URL, OPENAI_API_KEY), with
 * capsule.toml `[llm]` over them (`base_url`; `api_key_env`, the variable that holds the key). Read on the worker,
 * where the calls are made: neither the endpoint nor the key is ever part of a workflow's input or history.
 */
import { loadCapsuleConfig, type LlmFileConfig } from './capsule-toml.js';

export interface LlmSettings {
  /** The chat-completions API's base URL; undefined: the client's default (api.openai.com). */
  baseURL: string | undefined;
  apiKey: string | undefined;
  /** Which variable the key came from (for messages: never the key). */
  keyVariable: string;
}

export function llmSettings(env: Record<string, string | undefined>, file: LlmFileConfig): LlmSettings {
  const keyVariable = file.api_key_env ?? 'OPENAI_API_KEY';
  const baseURL = file.base_url ?? nonEmpty(env.OPENAI_BASE_URL);
  return { baseURL, apiKey: nonEmpty(env[keyVariable]), keyVariable };
}

/** The settings of a worker running in `dir` (capsule.toml there) with `env`. */
export function workerLlmSettings(dir: string, env: Record<string, string | undefined> = process.env): LlmSettings {
  return llmSettings(env, loadCapsuleConfig(dir).llm);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
