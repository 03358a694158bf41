/**
 * Task options: what a task file declares with `task({...}, fn)`, validated on the host before anything runs.
 * Stages (as in the Temporal SDK): TaskOptionsInput (what authors write, all optional but `name`)
 * -> ResolvedTaskOptions (defaults applied, units compiled to numbers, paths checked).
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ENV_NAME, ENV_NAME_EXPECTED, hostPatternSchema, narrowSecretsForStep, secretsProblem, secretsSchema, type SecretGrants } from './secrets.js';
import { TaskOptionsError } from './errors.js';
import { parseBytes, parseCompute, parseDuration } from './units.js';

export type FileMode = 'read-only' | 'read-write';
export interface AllowedFile {
  /** Where the guest sees it, normalised ("./data" -> "data"); relative to the guest's working directory. */
  path: string;
  mode: FileMode;
  /** The host directory, relative to the run's base directory, when it differs from `path` (a mount's alias). */
  hostPath?: string;
}

export interface ResolvedTaskOptions {
  name: string;
  /** Fuel budget (deterministic instruction units). */
  fuel: number;
  ramBytes: number;
  timeoutMs: number;
  maxRetries: number;
  allowedFiles: AllowedFile[];
  allowedHosts: string[];
  envVariables: string[];
  /** Secret name -> hosts its value may be sent to (in request headers, by the egress). */
  secrets: SecretGrants;
  /** Cap on each HTTP response body the task receives. */
  maxResponseBytes: number;
}

/**
 * What a pipeline step may override: limits, and `secrets` narrowed (a subset of the task's names and hosts).
 * Capabilities (files, hosts, env, secrets) can never be widened from outside the file.
 */
export interface LimitOverrides {
  compute?: string | number;
  ram?: string | number;
  timeout?: string | number;
  maxRetries?: number;
  secrets?: SecretGrants;
}

export const BUILTIN_DEFAULTS = {
  compute: 'MEDIUM',
  ram: '256MB',
  timeout: '60s',
  maxRetries: 0,
  maxResponseSize: '10MB',
} as const;

/** Defaults a project sets in capsule.toml `[tasks]`; each field already in option syntax. */
export interface TaskDefaults {
  compute?: string | number;
  ram?: string | number;
  timeout?: string | number;
  maxRetries?: number;
  /** For pipeline steps (not a task option): attempts that may be lost to crashes, shutdowns and outages. */
  maxLostAttempts?: number;
  allowedFiles?: unknown[];
  allowedHosts?: string[];
  envVariables?: string[];
}

function unitField(parse: (v: unknown) => { ok: true; value: number } | { ok: false; expected: string }) {
  return z.unknown().transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(value)}; expected ${parsed.expected}` });
    return z.NEVER;
  });
}

/** Grants a task may declare: each is a directory descriptor held open for every run. */
export const MAX_ALLOWED_FILES = 64;

const allowedFileObject = z.strictObject({
  path: z.string().min(1, 'expected a non-empty relative path'),
  mode: z.enum(['read-only', 'read-write'], 'expected "read-only" or "read-write"').default('read-only'),
});
// Not z.union: its error ("Invalid input") would not say which shape was expected or what was wrong with it.
const allowedFileSchema = z.unknown().transform((value, ctx): string | z.output<typeof allowedFileObject> => {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const parsed = allowedFileObject.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path } as never);
    return z.NEVER;
  }
  ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(value)}; expected a relative directory such as "./data" or { path: "./out", mode: "read-write" }` });
  return z.NEVER;
});

const envName = z.string().regex(ENV_NAME, ENV_NAME_EXPECTED);

export const taskOptionsInputSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected a non-empty name of letters, digits, "_", "-" or "."'),
  compute: unitField(parseCompute).optional(),
  ram: unitField(parseBytes).optional(),
  timeout: unitField(parseDuration).optional(),
  maxRetries: z.number().int('expected an integer >= 0').min(0, 'expected an integer >= 0').max(100, 'at most 100').optional(),
  allowedFiles: z.array(allowedFileSchema).max(MAX_ALLOWED_FILES, `at most ${MAX_ALLOWED_FILES} directories`).optional(),
  allowedHosts: z.array(hostPatternSchema).optional(),
  envVariables: z.array(envName).optional(),
  secrets: secretsSchema.optional(),
  maxResponseSize: unitField(parseBytes).optional(),
});
export type TaskOptionsInput = z.input<typeof taskOptionsInputSchema>;

const overridesSchema = z.strictObject({
  compute: unitField(parseCompute).optional(),
  ram: unitField(parseBytes).optional(),
  timeout: unitField(parseDuration).optional(),
  maxRetries: z.number().int('expected an integer >= 0').min(0, 'expected an integer >= 0').max(100, 'at most 100').optional(),
  secrets: secretsSchema.optional(),
});

/** The first zod issue as "option", "message" — enough for a precise one-line error. */
export function firstIssue(error: z.ZodError, prefix: string[] = []): { option: string; message: string } {
  const issue = error.issues[0]!;
  const option = [...prefix, ...issue.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]') || '(options)';
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.path.length === 1 && issue.path[0] === 'name') message = 'required: a task name';
  return { option, message };
}

/**
 * Python task files spell the options the Python way (`max_retries=`, `allowed_files=`); they are validated as the
 * same options, and errors name them as the file wrote them.
 */
export type OptionSpelling = 'js' | 'python';
const PYTHON_OPTION_NAMES: Record<string, keyof TaskOptionsInput> = {
  name: 'name',
  compute: 'compute',
  ram: 'ram',
  timeout: 'timeout',
  max_retries: 'maxRetries',
  allowed_files: 'allowedFiles',
  allowed_hosts: 'allowedHosts',
  env_variables: 'envVariables',
  secrets: 'secrets',
  max_response_size: 'maxResponseSize',
};
const PYTHON_BY_OPTION = new Map(Object.entries(PYTHON_OPTION_NAMES).map(([python, option]) => [option as string, python]));

function fromPythonSpelling(raw: unknown, file: string, task: string | undefined): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const option = PYTHON_OPTION_NAMES[key];
    if (option === undefined) {
      throw new TaskOptionsError(file, task, key, `unknown option; expected one of ${Object.keys(PYTHON_OPTION_NAMES).join(', ')}`);
    }
    converted[option] = value;
  }
  return converted;
}

function toPythonSpelling(option: string): string {
  return option.replace(/^[A-Za-z]+/, (head) => PYTHON_BY_OPTION.get(head) ?? head);
}

interface ResolveContext {
  /** Task file (for messages). */
  file: string;
  /** How the file names the options. Default: JavaScript's. */
  spelling?: OptionSpelling;
  /** Directory relative allowedFiles resolve against (the directory the command runs in). */
  baseDir: string;
  defaults?: TaskDefaults;
  overrides?: LimitOverrides;
}

/** Validates what a task declared and applies defaults; throws TaskOptionsError naming file, task and option. */
export function resolveTaskOptions(raw: unknown, ctx: ResolveContext): ResolvedTaskOptions {
  const taskName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string'
    ? (raw as { name: string }).name
    : undefined;
  const python = ctx.spelling === 'python';
  const parsed = taskOptionsInputSchema.safeParse(python ? fromPythonSpelling(raw, ctx.file, taskName) : raw);
  if (!parsed.success) {
    const { option, message } = firstIssue(parsed.error);
    throw new TaskOptionsError(ctx.file, taskName, python ? toPythonSpelling(option) : option, message);
  }
  const declared = parsed.data;
  const defaults = parseDefaults(ctx);
  const overrides = ctx.overrides === undefined ? {} : parseOverrides(ctx, declared.name);
  const allowedFiles = resolveAllowedFiles(declared.allowedFiles ?? defaults.allowedFiles, ctx, declared.name, python ? 'allowed_files' : 'allowedFiles');
  const allowedHosts = [...new Set(declared.allowedHosts ?? defaults.allowedHosts)];
  const envVariables = [...new Set(declared.envVariables ?? defaults.envVariables)];
  const declaredSecrets = declared.secrets ?? {};
  const spelled = python ? { allowedHosts: 'allowed_hosts', envVariables: 'env_variables' } : undefined;
  const problem = secretsProblem(declaredSecrets, allowedHosts, envVariables, spelled);
  if (problem) throw new TaskOptionsError(ctx.file, declared.name, `secrets.${problem.secret}`, problem.detail);
  return {
    name: declared.name,
    fuel: overrides.compute ?? declared.compute ?? defaults.compute,
    ramBytes: overrides.ram ?? declared.ram ?? defaults.ram,
    timeoutMs: overrides.timeout ?? declared.timeout ?? defaults.timeout,
    maxRetries: overrides.maxRetries ?? declared.maxRetries ?? defaults.maxRetries,
    allowedFiles,
    allowedHosts,
    envVariables,
    secrets: overrides.secrets === undefined ? declaredSecrets : stepSecrets(declaredSecrets, overrides.secrets, ctx.file, declared.name),
    maxResponseBytes: declared.maxResponseSize ?? defaults.maxResponseSize,
  };
}

function stepSecrets(declared: SecretGrants, step: SecretGrants, file: string, task: string): SecretGrants {
  const narrowed = narrowSecretsForStep(declared, step);
  if (!narrowed.ok) throw new TaskOptionsError(file, task, `override secrets.${narrowed.secret}`, narrowed.detail);
  return narrowed.secrets;
}

function parseDefaults(ctx: ResolveContext) {
  const d = ctx.defaults ?? {};
  const schema = taskOptionsInputSchema.omit({ name: true });
  const parsed = schema.safeParse({
    compute: d.compute ?? BUILTIN_DEFAULTS.compute,
    ram: d.ram ?? BUILTIN_DEFAULTS.ram,
    timeout: d.timeout ?? BUILTIN_DEFAULTS.timeout,
    maxRetries: d.maxRetries ?? BUILTIN_DEFAULTS.maxRetries,
    allowedFiles: d.allowedFiles ?? [],
    allowedHosts: d.allowedHosts ?? [],
    envVariables: d.envVariables ?? [],
    maxResponseSize: BUILTIN_DEFAULTS.maxResponseSize,
  });
  if (!parsed.success) {
    const { option, message } = firstIssue(parsed.error);
    throw new TaskOptionsError('capsule.toml', undefined, `default ${option}`, message);
  }
  return parsed.data as Required<z.output<typeof schema>>;
}

function parseOverrides(ctx: ResolveContext, task: string) {
  const parsed = overridesSchema.safeParse(ctx.overrides);
  if (!parsed.success) {
    const { option, message } = firstIssue(parsed.error);
    throw new TaskOptionsError(ctx.file, task, `override ${option}`, message);
  }
  return parsed.data;
}

function resolveAllowedFiles(entries: z.output<typeof allowedFileSchema>[], ctx: ResolveContext, task: string, optionName: string): AllowedFile[] {
  const resolved = entries.map((entry, index) => {
    const declared = typeof entry === 'string' ? { path: entry, mode: 'read-only' as const } : entry;
    const checked = checkGrantedDirectory(declared.path, ctx.baseDir);
    if (!checked.ok) throw new TaskOptionsError(ctx.file, task, `${optionName}[${index}]`, checked.problem);
    return { path: checked.path, mode: declared.mode };
  });
  const contradiction = nestedWiderMode(resolved);
  if (contradiction) throw new TaskOptionsError(ctx.file, task, optionName, contradiction);
  return resolved;
}

/**
 * A directory a grant may name: relative, inside the base directory, existing, and reached without any symbolic
 * link (the sandbox never follows one, so a granted link would be a grant of nothing, or of somewhere else).
 * Messages name the path as given, never the host's directories: they can end up in an envelope.
 */
export function checkGrantedDirectory(raw: string, baseDir: string): { ok: true; path: string } | { ok: false; problem: string } {
  if (raw.includes('\0')) return { ok: false, problem: 'the path contains a NUL byte' };
  if (path.isAbsolute(raw) || /^[A-Za-z]:[\\/]/.test(raw)) {
    return { ok: false, problem: `got absolute path "${raw}"; expected a path relative to the project directory, such as "./data"` };
  }
  const normalised = path.posix.normalize(raw.replaceAll('\\', '/')).replace(/\/+$/, '') || '.';
  if (normalised === '..' || normalised.startsWith('../')) {
    return { ok: false, problem: `"${raw}" escapes the project directory; expected a directory inside it` };
  }
  let walked = '';
  for (const name of normalised === '.' ? [] : normalised.split('/')) {
    walked = walked === '' ? name : `${walked}/${name}`;
    let stats;
    try {
      stats = lstatSync(path.join(baseDir, walked));
    } catch {
      return { ok: false, problem: `"${raw}" is not an existing directory in the project directory` };
    }
    if (stats.isSymbolicLink()) return { ok: false, problem: `"${raw}" goes through a symbolic link ("${walked}"); grant the directory it points to instead (the sandbox never follows links)` };
    if (!stats.isDirectory()) return { ok: false, problem: `"${raw}" is not an existing directory in the project directory` };
  }
  return { ok: true, path: normalised };
}

/**
 * The narrower mode wins for the deeper path: a read-write directory inside a read-only one would be read-only,
 * which is never what a declaration that says read-write means. Refused, so the declaration says what happens.
 */
function nestedWiderMode(files: AllowedFile[]): string | undefined {
  for (const inner of files) {
    const outer = files.find((o) => o !== inner && o.mode === 'read-only' && inner.mode === 'read-write' && (o.path === '.' || inner.path.startsWith(`${o.path}/`)));
    if (outer) {
      return `"${inner.path}" is read-write but lies inside "${outer.path}", which is read-only; the narrower mode wins for the deeper path, so declare "${inner.path}" read-only or "${outer.path}" read-write`;
    }
  }
  return undefined;
}

