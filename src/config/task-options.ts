/**
 * Task options: the one declaration of what a task may use and how long it may run. Everything else derives from
 * `taskOptionsSchema`: what authors write (`TaskOptionsInput`, the SDK's type), Python's spellings (`max_retries`),
 * capsule.toml's `[tasks]` defaults (`default_max_retries`), what a pipeline step may override, how sub-tasks narrow
 * (sandbox/narrow.ts) and what travels in workflow input.
 *
 * Stages, as in the Temporal SDK's options: TaskOptionsInput (z.input: units as text, all optional but `name`)
 * -> TaskOptions (z.output: units compiled to numbers) -> ResolvedTaskOptions (defaults applied, directories checked,
 * every option present). The resolved form keeps the same names, in base units (compute in fuel, ram and
 * maxResponseSize in bytes, timeout in milliseconds), so it is itself valid input: a pipeline carries it from the
 * client to the worker, where the same schema checks it again.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { firstIssue } from '../zod-issue.js';
import { TaskOptionsError } from './errors.js';
import { parseRelativePath } from './guest-path.js';
import { ENV_NAME, ENV_NAME_EXPECTED, hostPatternSchema, narrowSecretsForStep, secretsProblem, secretsSchema, type SecretGrants } from './secrets.js';
import { parseBytes, parseCompute, parseDuration, type ComputeLevel, type Parsed } from './units.js';

export type FileMode = 'read-only' | 'read-write';
export interface AllowedFile {
  /** Where the guest sees it, normalised ("./data" -> "data"); relative to the guest's working directory. */
  path: string;
  mode: FileMode;
  /** The host directory, relative to the run's base directory, when it differs from `path` (a mount's alias). */
  hostPath?: string;
}

/** Grants a task may declare: each is a directory descriptor held open for every run. */
export const MAX_ALLOWED_FILES = 64;

/** A unit option: text ("64MB") or a number in base units; the message says what was expected. */
function unitField<Input>(parse: (value: unknown) => Parsed) {
  return z.unknown().transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(value)}; expected ${parsed.expected}` });
    return z.NEVER;
  }) as unknown as z.ZodType<number, Input>;
}

const allowedFileObject = z.strictObject({
  path: z.string().min(1, 'expected a non-empty relative path'),
  mode: z.enum(['read-only', 'read-write'], 'expected "read-only" or "read-write"').default('read-only'),
});
type AllowedFileInput = string | { path: string; mode?: FileMode };
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
}) as unknown as z.ZodType<string | z.output<typeof allowedFileObject>, AllowedFileInput>;

const maxRetries = z.number().int('expected an integer >= 0').min(0, 'expected an integer >= 0').max(100, 'at most 100');

export const taskOptionsSchema = z.strictObject({
  /** Required. The entry task is the one named "main" unless another is chosen. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected a non-empty name of letters, digits, "_", "-" or "."'),
  /** Fuel: "LOW" = 100,000,000, "MEDIUM" = 2,000,000,000 (default), "HIGH" = 50,000,000,000, or a positive integer. */
  compute: unitField<ComputeLevel | Lowercase<ComputeLevel> | (string & {}) | number>(parseCompute).optional(),
  /** Memory cap: "512KB", "64MB", "1GB" (binary units) or bytes. Default "256MB". */
  ram: unitField<string | number>(parseBytes).optional(),
  /** Wall-clock limit: "500ms", "30s", "2m" or milliseconds. Default "60s". */
  timeout: unitField<string | number>(parseDuration).optional(),
  /** Retries of the task's own failures in pipelines (an integer >= 0). Default 0. */
  maxRetries: maxRetries.optional(),
  /** Directories the task may use, relative to the directory Capsule runs in; a string is read-only. */
  allowedFiles: z.array(allowedFileSchema).max(MAX_ALLOWED_FILES, `at most ${MAX_ALLOWED_FILES} directories`).optional(),
  /**
   * Hosts the task may fetch from: "api.example.com", "*.example.org", "api.example.com:8443", "[2001:db8::1]".
   * Empty: no network. Loopback and private addresses only when listed literally with their port ("127.0.0.1:8080").
   */
  allowedHosts: z.array(hostPatternSchema).optional(),
  /** Host environment variables the task can see in process.env. */
  envVariables: z.array(z.string().regex(ENV_NAME, ENV_NAME_EXPECTED)).optional(),
  /**
   * Secrets and the hosts their values may be sent to: `{ OPENAI_API_KEY: ["api.openai.com"] }`. process.env holds
   * a placeholder; Capsule puts the real value in request headers to those hosts only. Values come from the
   * worker's environment or `.env`/`.env.local`, never from the task or its input.
   */
  secrets: secretsSchema.optional(),
  /** Cap on each HTTP response body: "10MB" (default), "512KB" or bytes. */
  maxResponseSize: unitField<string | number>(parseBytes).optional(),
});

export type TaskOptionsInput = z.input<typeof taskOptionsSchema>;
export type TaskOptions = z.output<typeof taskOptionsSchema>;
export type OptionName = Exclude<keyof TaskOptions, 'name'>;

/**
 * The resolved form where it arrives from elsewhere (a step's options in workflow and activity input): every option
 * present, in base units, files as normalised guest paths. The same option schemas check it.
 */
export const resolvedTaskOptionsSchema = taskOptionsSchema.required().extend({
  allowedFiles: z
    .array(z.strictObject({
      path: z.string().refine((text) => { const parsed = parseRelativePath(text); return parsed.ok && parsed.path === text; }, 'expected a normalised relative path such as "data"'),
      mode: z.enum(['read-only', 'read-write'], 'expected "read-only" or "read-write"'),
    }))
    .max(MAX_ALLOWED_FILES, `at most ${MAX_ALLOWED_FILES} directories`),
});
/** Every option present, in base units; files checked and normalised (a mount or a caller may alias one: hostPath). */
export type ResolvedTaskOptions = Omit<z.output<typeof resolvedTaskOptionsSchema>, 'allowedFiles' | 'secrets'> & { allowedFiles: AllowedFile[]; secrets: SecretGrants };

/** The budgets: capsule.toml may set their defaults and a pipeline step may override them. */
export const LIMIT_OPTIONS = ['compute', 'ram', 'timeout', 'maxRetries'] as const satisfies readonly OptionName[];
/** What a task may reach: declared by its file (capsule.toml may set defaults); a step or a caller only narrows them. */
export const GRANT_OPTIONS = ['allowedFiles', 'allowedHosts', 'envVariables', 'secrets', 'maxResponseSize'] as const satisfies readonly OptionName[];

const pick = <K extends OptionName>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, true])) as { [P in K]: true };

/** What a pipeline step may set: the limits, and `secrets` narrowed (a subset of the task's names and hosts). */
export const stepOverridesSchema = taskOptionsSchema.pick({ ...pick(LIMIT_OPTIONS), secrets: true });
export type LimitOverrides = z.input<typeof stepOverridesSchema>;

/** Defaults a project sets in capsule.toml `[tasks]`, in option syntax. */
export const taskDefaultsSchema = taskOptionsSchema.pick({ ...pick(LIMIT_OPTIONS), allowedFiles: true, allowedHosts: true, envVariables: true });
export type TaskDefaults = z.input<typeof taskDefaultsSchema> & {
  /** For pipeline steps (not a task option): attempts that may be lost to crashes, shutdowns and outages. */
  maxLostAttempts?: number;
};

export const BUILTIN_DEFAULTS = {
  compute: 'MEDIUM',
  ram: '256MB',
  timeout: '60s',
  maxRetries: 0,
  allowedFiles: [],
  allowedHosts: [],
  envVariables: [],
  secrets: {},
  maxResponseSize: '10MB',
} as const satisfies Required<Omit<TaskOptionsInput, 'name'>>;
const BUILTIN = taskOptionsSchema.omit({ name: true }).parse(BUILTIN_DEFAULTS) as Required<Omit<TaskOptions, 'name'>>;

/** How Python task files (and capsule.toml) spell an option: `maxRetries` -> `max_retries`. */
export function snakeCase(option: string): string {
  return option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The first zod issue as "option", "message" — enough for a precise one-line error. */
function optionIssue(error: z.ZodError): { option: string; message: string } {
  const { field, path, message } = firstIssue(error, 'option');
  const missingName = error.issues[0]!.code === 'invalid_type' && path.length === 1 && path[0] === 'name';
  return { option: field || '(options)', message: missingName ? 'required: a task name' : message };
}

/**
 * Python task files spell the options the Python way (`max_retries=`, `allowed_files=`); they are validated as the
 * same options, and errors name them as the file wrote them.
 */
export type OptionSpelling = 'js' | 'python';
const PYTHON_OPTION_NAMES = new Map(Object.keys(taskOptionsSchema.shape).map((option) => [snakeCase(option), option]));

function fromPythonSpelling(raw: unknown, file: string, task: string | undefined): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const option = PYTHON_OPTION_NAMES.get(key);
    if (option === undefined) {
      throw new TaskOptionsError(file, task, key, `unknown option; expected one of ${[...PYTHON_OPTION_NAMES.keys()].join(', ')}`);
    }
    converted[option] = value;
  }
  return converted;
}

function toPythonSpelling(option: string): string {
  return option.replace(/^[A-Za-z]+/, snakeCase);
}

function declaredName(raw: unknown): string | undefined {
  const name = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * What a task file declares, validated (units compiled; nothing defaulted). Throws TaskOptionsError naming file,
 * task and option as the file spells them.
 */
export function parseDeclaration(raw: unknown, file: string, spelling: OptionSpelling = 'js'): TaskOptions {
  const taskName = declaredName(raw);
  const python = spelling === 'python';
  const parsed = taskOptionsSchema.safeParse(python ? fromPythonSpelling(raw, file, taskName) : raw);
  if (!parsed.success) {
    const { option, message } = optionIssue(parsed.error);
    throw new TaskOptionsError(file, taskName, python ? toPythonSpelling(option) : option, message);
  }
  return parsed.data;
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

/**
 * The one place options are resolved: a declaration (raw, as the task file wrote it), capsule.toml's defaults and a
 * step's overrides -> every option, in base units. Throws TaskOptionsError naming file, task and option.
 */
export function resolveTaskOptions(raw: unknown, ctx: ResolveContext): ResolvedTaskOptions {
  const python = ctx.spelling === 'python';
  const declared = parseDeclaration(raw, ctx.file, ctx.spelling);
  const defaults = parsePart(taskDefaultsSchema, withoutLostAttempts(ctx.defaults), 'capsule.toml', undefined, 'default ');
  const overrides = parsePart(stepOverridesSchema, ctx.overrides ?? {}, ctx.file, declared.name, 'override ');
  const option = <K extends OptionName>(key: K) => (declared[key] ?? (defaults as Partial<TaskOptions>)[key] ?? BUILTIN[key]) as NonNullable<TaskOptions[K]>;
  const allowedHosts = [...new Set(option('allowedHosts'))];
  const envVariables = [...new Set(option('envVariables'))];
  const spelled = (name: string) => (python ? snakeCase(name) : name);
  const problem = secretsProblem(option('secrets'), allowedHosts, envVariables, { allowedHosts: spelled('allowedHosts'), envVariables: spelled('envVariables') });
  if (problem) throw new TaskOptionsError(ctx.file, declared.name, `secrets.${problem.secret}`, problem.detail);
  return {
    name: declared.name,
    compute: overrides.compute ?? option('compute'),
    ram: overrides.ram ?? option('ram'),
    timeout: overrides.timeout ?? option('timeout'),
    maxRetries: overrides.maxRetries ?? option('maxRetries'),
    allowedFiles: resolveAllowedFiles(option('allowedFiles'), ctx, declared.name, spelled('allowedFiles')),
    allowedHosts,
    envVariables,
    secrets: overrides.secrets === undefined ? option('secrets') : stepSecrets(option('secrets'), overrides.secrets, ctx.file, declared.name),
    maxResponseSize: option('maxResponseSize'),
  };
}

/**
 * The most a task may be granted, option by option: what its file declares, else the project's default (capsule.toml
 * [tasks]), else nothing. A step's carried options are held to this (sandbox/narrow.ts: widenedGrants).
 */
export function grantCeiling(declared: TaskOptions, defaults: TaskDefaults | undefined): Pick<Required<TaskOptions>, (typeof GRANT_OPTIONS)[number]> {
  const parsed = parsePart(taskDefaultsSchema, withoutLostAttempts(defaults), 'capsule.toml', undefined, 'default ') as Partial<TaskOptions>;
  const option = <K extends (typeof GRANT_OPTIONS)[number]>(key: K) => (declared[key] ?? parsed[key] ?? BUILTIN[key]) as NonNullable<TaskOptions[K]>;
  return Object.fromEntries(GRANT_OPTIONS.map((key) => [key, option(key)])) as Pick<Required<TaskOptions>, (typeof GRANT_OPTIONS)[number]>;
}

function withoutLostAttempts(defaults: TaskDefaults | undefined): z.input<typeof taskDefaultsSchema> {
  const { maxLostAttempts: _, ...options } = defaults ?? {};
  return options;
}

function parsePart<S extends z.ZodType>(schema: S, value: unknown, file: string, task: string | undefined, prefix: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { option, message } = optionIssue(parsed.error);
  throw new TaskOptionsError(file, task, `${prefix}${option}`, message);
}

function stepSecrets(declared: SecretGrants, step: SecretGrants, file: string, task: string): SecretGrants {
  const narrowed = narrowSecretsForStep(declared, step);
  if (!narrowed.ok) throw new TaskOptionsError(file, task, `override secrets.${narrowed.secret}`, narrowed.detail);
  return narrowed.secrets;
}

/** A declared file grant as the guest sees it (path normalised, mode defaulted), before any check of the disk. */
export function declaredFile(entry: string | { path: string; mode: FileMode }): { path: string; mode: FileMode } {
  return typeof entry === 'string' ? { path: entry, mode: 'read-only' } : entry;
}

function resolveAllowedFiles(entries: NonNullable<TaskOptions['allowedFiles']>, ctx: ResolveContext, task: string, optionName: string): AllowedFile[] {
  const resolved = entries.map((entry, index) => {
    const declared = declaredFile(entry);
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
  const parsed = parseRelativePath(raw);
  if (!parsed.ok) {
    const problem = {
      nul: 'the path contains a NUL byte',
      absolute: `got absolute path "${raw}"; expected a path relative to the project directory, such as "./data"`,
      outside: `"${raw}" escapes the project directory; expected a directory inside it`,
    }[parsed.problem];
    return { ok: false, problem };
  }
  let walked = '';
  for (const name of parsed.path === '.' ? [] : parsed.path.split('/')) {
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
  return { ok: true, path: parsed.path };
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
