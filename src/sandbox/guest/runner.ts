/**
 * Entry of the runner component (componentize-js / StarlingMonkey). The host bundles a task file into a CommonJS
 * script; `run` evaluates it with a `require` that knows only the sandbox's own modules, then lists the tasks
 * ("describe") or runs one. Nothing here is trusted: every capability is enforced by the host's imports.
 */
import { noteDenial } from 'capsule:sandbox/host@0.1.0';
import { fsModule, fsPromisesModule } from './fs.js';
import { PROGRAM_MAIN_EXPORT, type DescribeResponse, type GuestFailure, type GuestRequest, type RunResponse, type RunTaskRequest } from './protocol.js';
import { registry, sdkModule, type RegisteredTask } from './sdk.js';

// The runner's own JSON, taken before any task code runs: a task that replaces JSON.stringify changes its own
// serialisation, not the runner's. (The host still reads every reply as untrusted.)
const stringify = JSON.stringify;
const parse = JSON.parse;
// Replies leave as UTF-8 bytes, encoded natively (see `run` in runner.wit for what a returned string would cost).
const utf8 = new TextEncoder();
const encodeUtf8 = utf8.encode.bind(utf8);

const modules: Record<string, unknown> = {
  capsule: sdkModule,
  '@capsule-run/sdk': sdkModule,
  fs: fsModule,
  'node:fs': fsModule,
  'fs/promises': fsPromisesModule,
  'node:fs/promises': fsPromisesModule,
};

function sandboxRequire(name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
  noteDenial('module', name, 'not available in the sandbox');
  throw new Error(`Cannot find module '${name}': it is not available in the Capsule sandbox (available: ${Object.keys(modules).join(', ')})`);
}

class GuestError extends Error {
  constructor(readonly failure: GuestFailure) {
    super(failure.message);
  }
}

/**
 * Only the listed variables, in a plain object: no host process object ever exists in here. Reading a variable
 * that was not listed gives `undefined`, as in Node, and is recorded so the envelope shows what the task missed.
 */
function guestEnv(listed: Record<string, string>, unset: string[]): Record<string, string> {
  const noted = new Set<string>(unset);
  return new Proxy({ ...listed }, {
    get(target, key, receiver) {
      if (typeof key === 'string' && !(key in target) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !noted.has(key)) {
        noted.add(key);
        noteDenial('env', key, 'not in envVariables');
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** `loading`: what a failure of the top level is called (a program's top level is the program itself). */
function evaluate(source: string, env: Record<string, string>, unsetEnv: string[], loading = 'loading the task file failed: '): Record<string, unknown> {
  (globalThis as { process?: unknown }).process = { env: guestEnv(env, unsetEnv), argv: [], platform: 'wasi', exitCode: undefined };
  const module = { exports: {} as Record<string, unknown> };
  let factory: (...args: unknown[]) => void;
  try {
    factory = new Function('require', 'module', 'exports', source) as typeof factory;
  } catch (error) {
    throw new GuestError({ kind: 'invalid_task', message: `the task script does not parse: ${String(error)}` });
  }
  try {
    factory(sandboxRequire, module, module.exports);
  } catch (error) {
    throw new GuestError({ kind: 'task_error', message: `${loading}${describeError(error)}`, stack: stackOf(error) });
  }
  return module.exports;
}

function exportNameOf(exports: Record<string, unknown>, callable: unknown): string | null {
  for (const [name, value] of Object.entries(exports)) if (value === callable) return name;
  return null;
}

function jsonSafe(value: unknown): unknown {
  try {
    return parse(stringify(value ?? null) ?? 'null') as unknown;
  } catch {
    return null;
  }
}

/** What was thrown, as one line: always a string, whatever the value (a symbol, undefined, a hostile object). */
function describeError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = typeof error.name === 'string' && error.name ? error.name : 'Error';
      return typeof error.message === 'string' && error.message ? `${name}: ${error.message}` : name;
    }
    if (typeof error === 'string') return error;
    if (error === undefined || typeof error === 'symbol' || typeof error === 'function' || typeof error === 'bigint') {
      return `the task threw ${typeof error === 'function' ? 'a function' : String(error)}${typeof error === 'bigint' ? 'n' : ''}`;
    }
    return stringify(error) ?? String(error);
  } catch {
    return `the task threw a value that cannot be printed (${typeof error})`;
  }
}

/** Why a task's result cannot be returned as JSON, when JSON.stringify would silently drop or mangle it. */
function unreturnable(result: unknown): string | undefined {
  if (typeof result === 'function') return 'the task returned a function';
  if (typeof result === 'symbol') return 'the task returned a symbol';
  return undefined;
}

/**
 * As Node prints an uncaught error: the error, then the task's frames. StarlingMonkey's `stack` has only frames
 * (`name@file line N > Function:line:column`); the task's are the ones inside the evaluated bundle, and their
 * positions are the bundle's (the task file after esbuild). The runner's own frames are left out.
 */
function stackOf(error: unknown): string | undefined {
  let stack: unknown;
  try {
    stack = error instanceof Error ? error.stack : undefined;
  } catch {
    return undefined;
  }
  if (typeof stack !== 'string') return undefined;
  const frames = stack
    .split('\n')
    .map((line) => /^(.*?)@.* > Function:(\d+):(\d+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, name, line, column]) => `    at ${name!.split('/').pop()!.replace(/<+$/, '') || '<anonymous>'} (task bundle:${line}:${column})`);
  return [describeError(error), ...frames].join('\n');
}

/**
 * A program's entry: a task named "main", a task exported as `main`, or whatever function its `main` binding holds
 * (exported by the host under PROGRAM_MAIN_EXPORT even when the code did not export it); a task's function is
 * called in place, never as a sub-task.
 */
function programEntry(exports: Record<string, unknown>): ((...args: unknown[]) => unknown) | undefined {
  const named = registry.find((t) => taskName(t) === 'main') ?? registry.find((t) => exportNameOf(exports, t.callable) === 'main');
  if (named) return named.fn;
  const bound = exports[PROGRAM_MAIN_EXPORT] ?? exports.main;
  if (typeof bound !== 'function') return undefined;
  return registry.find((t) => t.callable === bound)?.fn ?? (bound as (...args: unknown[]) => unknown);
}

function taskName(t: RegisteredTask): unknown {
  return (t.options as { name?: unknown } | null)?.name;
}

/** The task (or a program's main) the request names, evaluating the source first. */
function entryFor(source: string, request: RunTaskRequest): { fn: (...args: unknown[]) => unknown } | { script: true } {
  if (request.program !== undefined && request.task === 'main') {
    const exports = evaluate(source, request.env, request.unsetEnv, '');
    const fn = programEntry(exports);
    if (fn) return { fn };
    if (request.program.withoutMain === 'script') return { script: true };
    throw new GuestError({ kind: 'invalid_task', message: 'the code defines no function named main: write `function main(input) { ... }` and return the result' });
  }
  const exports = evaluate(source, request.env, request.unsetEnv);
  const entry = registry.find((t) => taskName(t) === request.task) ?? registry.find((t) => exportNameOf(exports, t.callable) === request.task);
  if (!entry) throw new GuestError({ kind: 'invalid_task', message: `no task named "${request.task}" in this file` });
  return entry;
}

async function runRequest(source: string, request: GuestRequest): Promise<string> {
  if (request.mode === 'describe') {
    const exports = evaluate(source, {}, []);
    const response: DescribeResponse = {
      tasks: registry.map((t) => ({ exportName: exportNameOf(exports, t.callable), options: jsonSafe(t.options) })),
    };
    return stringify(response);
  }
  const entry = entryFor(source, request);
  if ('script' in entry) return stringify({ result: null, script: true } satisfies RunResponse);
  let result: unknown;
  try {
    result = await entry.fn(...request.args);
  } catch (error) {
    throw new GuestError({ kind: 'task_error', message: describeError(error), stack: stackOf(error) });
  }
  const problem = unreturnable(result);
  if (problem) throw new GuestError({ kind: 'task_error', message: `the task's result is not JSON-serialisable: ${problem}` });
  let json: string | undefined;
  try {
    json = stringify({ result: result === undefined ? null : result } satisfies RunResponse);
  } catch (error) {
    throw new GuestError({ kind: 'task_error', message: `the task's result is not JSON-serialisable: ${describeError(error)}` });
  }
  return json;
}

/** The component export. Thrown bytes become the `err` case; anything else would trap the guest. */
export async function run(source: string, requestJson: string): Promise<Uint8Array> {
  let failure: GuestFailure;
  try {
    return encodeUtf8(await runRequest(source, parse(requestJson) as GuestRequest));
  } catch (error) {
    failure = error instanceof GuestError
      ? error.failure
      : { kind: 'task_error', message: describeError(error), stack: stackOf(error) };
  }
  throw encodeUtf8(stringify(failure));
}
