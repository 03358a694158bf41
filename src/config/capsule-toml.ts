/**
 * capsule.toml: project defaults for tasks (`[tasks]`), the Temporal connection (`[temporal]`) and payload storage
 * (`[payloads]`: claim-check, compression, encryption).
 * Unknown keys and bad values are errors that name the file and the key: a typo must never be silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { MAX_LOST_ATTEMPTS_LIMIT } from '../workflows/shared.js';
import { ConfigError } from './errors.js';
import type { TaskDefaults } from './task-options.js';

export const CONFIG_FILE_NAME = 'capsule.toml';

const tasksSection = z.strictObject({
  default_compute: z.union([z.string(), z.number()]).optional(),
  default_ram: z.union([z.string(), z.number()]).optional(),
  default_timeout: z.union([z.string(), z.number()]).optional(),
  default_max_retries: z.number().optional(),
  default_max_lost_attempts: z
    .number()
    .int(`expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`)
    .min(0, `expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`)
    .max(MAX_LOST_ATTEMPTS_LIMIT, `expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`)
    .optional(),
  default_allowed_files: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).optional(),
  default_allowed_hosts: z.array(z.string()).optional(),
  default_env_variables: z.array(z.string()).optional(),
});

const temporalSection = z.strictObject({
  address: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  task_queue: z.string().min(1).optional(),
  tls_cert_path: z.string().min(1).optional(),
  tls_key_path: z.string().min(1).optional(),
  tls_ca_path: z.string().min(1).optional(),
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

const fileSchema = z.strictObject({
  tasks: tasksSection.optional(),
  temporal: temporalSection.optional(),
  payloads: payloadsSection.optional(),
});

export interface CapsuleConfig {
  /** Absolute path of the file read, or undefined when the directory has none. */
  file: string | undefined;
  tasks: TaskDefaults;
  temporal: TemporalFileConfig;
  payloads: PayloadsFileConfig;
}

/** Reads `capsule.toml` in `dir` (the directory the command runs in); a missing file means built-in defaults. */
export function loadCapsuleConfig(dir: string): CapsuleConfig {
  const file = path.resolve(dir, CONFIG_FILE_NAME);
  if (!existsSync(file)) return { file: undefined, tasks: {}, temporal: {}, payloads: {} };
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
    const key = issue.path.map(String).join('.');
    const message = issue.code === 'unrecognized_keys'
      ? `unknown key(s) ${issue.keys.map((k) => `"${[...issue.path.map(String), k].join('.')}"`).join(', ')}`
      : `"${key}": ${issue.message}`;
    throw new ConfigError(`${file}: ${message}`);
  }
  const tasks = parsed.data.tasks ?? {};
  return {
    file,
    tasks: {
      compute: tasks.default_compute,
      ram: tasks.default_ram,
      timeout: tasks.default_timeout,
      maxRetries: tasks.default_max_retries,
      maxLostAttempts: tasks.default_max_lost_attempts,
      allowedFiles: tasks.default_allowed_files,
      allowedHosts: tasks.default_allowed_hosts,
      envVariables: tasks.default_env_variables,
    },
    temporal: parsed.data.temporal ?? {},
    payloads: parsed.data.payloads ?? {},
  };
}
