/**
 * capsule.toml: project defaults for tasks (`[tasks]`), the Temporal connection (`[temporal]`), payload storage
 * (`[payloads]`: claim-check, compression, encryption), the MCP server's ceilings (`[mcp]`) and llm steps' endpoint
 * (`[llm]`).
 * Unknown keys and bad values are errors that name the file and the key: a typo must never be silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { maxLostAttemptsSchema } from '../workflows/shared.js';
import { fieldOf, firstIssue } from '../zod-issue.js';
import { ConfigError } from './errors.js';
import { snakeCase, taskDefaultsSchema, type TaskDefaults } from './task-options.js';

export const CONFIG_FILE_NAME = 'capsule.toml';

/** `[tasks]`: `default_<option>` for each option a project may default (task-options.ts), checked as the option is. */
const DEFAULTED = Object.keys(taskDefaultsSchema.shape) as (keyof typeof taskDefaultsSchema.shape)[];
const tasksSection = z.strictObject({
  ...Object.fromEntries(DEFAULTED.map((option) => [`default_${snakeCase(option)}`, taskDefaultsSchema.shape[option]])),
  default_max_lost_attempts: maxLostAttemptsSchema.optional(),
});

const temporalSection = z.strictObject({
  /** A profile of Temporal's temporal.toml to start from (TEMPORAL_PROFILE wins). */
  profile: z.string().min(1).optional(),
  address: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  task_queue: z.string().min(1).optional(),
  tls_cert_path: z.string().min(1).optional(),
  tls_key_path: z.string().min(1).optional(),
  tls_ca_path: z.string().min(1).optional(),
  /** Turn TLS on (or off) explicitly, like TEMPORAL_TLS. */
  tls: z.boolean().optional(),
  tls_server_name: z.string().min(1).optional(),
  api_key: z.string().min(1).optional(),
  ui_url: z.string().url().optional(),
});
export type TemporalFileConfig = z.infer<typeof temporalSection>;

/** Payload codec and claim-check settings; validated and given defaults in src/payloads/settings.ts. */
const payloadsSection = z.strictObject({
  claim_check_threshold: z.union([z.string(), z.number()]).optional(),
  compression: z.boolean().optional(),
  compression_threshold: z.union([z.string(), z.number()]).optional(),
  store: z.string().min(1).optional(),
  encrypt: z.boolean().optional(),
  retention: z.union([z.string(), z.number()]).optional(),
  gc_grace: z.union([z.string(), z.number()]).optional(),
});
export type PayloadsFileConfig = z.infer<typeof payloadsSection>;

/** `capsule mcp`'s ceilings and session limits; validated and given defaults in src/mcp/settings.ts. */
const mcpSection = z.strictObject({
  max_compute: z.union([z.string(), z.number()]).optional(),
  max_ram: z.union([z.string(), z.number()]).optional(),
  max_timeout: z.union([z.string(), z.number()]).optional(),
  allow_hosts: z.array(z.string()).optional(),
  max_output: z.union([z.string(), z.number()]).optional(),
  session_quota: z.union([z.string(), z.number()]).optional(),
  max_sessions: z.number().optional(),
});
export type McpFileConfig = z.infer<typeof mcpSection>;

/**
 * `[llm]`: where llm steps send their calls, over OPENAI_BASE_URL and OPENAI_API_KEY. The key itself never goes in
 * this file (it is usually committed): `api_key_env` names the variable that holds it. Read by config/llm.ts.
 */
const llmSection = z.strictObject({
  base_url: z.string().url('expected a URL such as "http://127.0.0.1:8080/v1"').optional(),
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as "OPENROUTER_API_KEY"').optional(),
});
export type LlmFileConfig = z.infer<typeof llmSection>;

const fileSchema = z.strictObject({
  tasks: tasksSection.optional(),
  temporal: temporalSection.optional(),
  payloads: payloadsSection.optional(),
  mcp: mcpSection.optional(),
  llm: llmSection.optional(),
});

export interface CapsuleConfig {
  /** Absolute path of the file read, or undefined when the directory has none. */
  file: string | undefined;
  tasks: TaskDefaults;
  temporal: TemporalFileConfig;
  payloads: PayloadsFileConfig;
  mcp: McpFileConfig;
  llm: LlmFileConfig;
}

/** Reads `capsule.toml` in `dir` (the directory the command runs in); a missing file means built-in defaults. */
export function loadCapsuleConfig(dir: string): CapsuleConfig {
  const file = path.resolve(dir, CONFIG_FILE_NAME);
  if (!existsSync(file)) return { file: undefined, tasks: {}, temporal: {}, payloads: {}, mcp: {}, llm: {} };
  let raw: unknown;
  try {
    raw = parseToml(readFileSync(file, 'utf8'));
  } catch (error) {
    const detail = error instanceof TomlError ? `line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}` : String(error);
    throw new ConfigError(`${file}: not valid TOML (${detail})`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const { field, message } = firstIssue(parsed.error);
    const where = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${fieldOf([...issue.path, k])}"`).join(', ')}` : `"${field}": ${message}`;
    throw new ConfigError(`${file}: ${where}`);
  }
  // Checked above; kept in option syntax (as written), like a task's own declaration.
  const tasks = ((raw as { tasks?: Record<string, unknown> }).tasks ?? {}) as Record<string, never>;
  const defaults: TaskDefaults = {};
  for (const option of DEFAULTED) if (tasks[`default_${snakeCase(option)}`] !== undefined) defaults[option] = tasks[`default_${snakeCase(option)}`];
  if (tasks.default_max_lost_attempts !== undefined) defaults.maxLostAttempts = tasks.default_max_lost_attempts;
  return {
    file,
    tasks: defaults,
    temporal: parsed.data.temporal ?? {},
    payloads: parsed.data.payloads ?? {},
    mcp: parsed.data.mcp ?? {},
    llm: parsed.data.llm ?? {},
  };
}
