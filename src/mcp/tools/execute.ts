/**
 * `execute_javascript` and `execute_python`: code given as text, run as a program (sandbox/source-program.ts) in a
 * fresh sandbox per call, within the server's ceilings, optionally in a session whose files persist.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { formatBytes, formatCount, formatDuration } from '../../config/units.js';
import { BundleError, bundleSource, envelopeSchema, MAX_PROGRAM_BYTES, type Envelope, type ProgramLanguage } from '../../sandbox/index.js';
import type { McpContext } from '../context.js';
import { callLimitsSchema, FILES_GUEST_PATH, planCall, type CallLimits } from '../limits.js';
import { ToolError } from '../errors.js';
import { envelopeResult, refusedEnvelope } from '../results.js';
import { CAPSULE_STATE_DIR, sessionIdSchema, type OpenSession } from '../sessions.js';
import type { Ceilings } from '../settings.js';

const inputShape = (language: string) => ({
  code: z.string().min(1, 'expected some code').max(MAX_PROGRAM_BYTES, `at most ${MAX_PROGRAM_BYTES} characters`).describe(`The ${language} code to run.`),
  input: z.unknown().optional().describe('Any JSON value, passed to main(input). Leave it out when main takes no input or there is no main.'),
  session: sessionIdSchema.optional(),
  limits: callLimitsSchema.optional().describe('Limits for this call, each at most the server\'s ceiling (which is also the default): ask for less only.'),
});

interface Language {
  tool: string;
  title: string;
  program: ProgramLanguage;
  describe(ceilings: Ceilings): string;
}

const JAVASCRIPT: Language = {
  tool: 'execute_javascript',
  title: 'Run JavaScript in a sandbox',
  // TypeScript is a superset: annotations a model adds out of habit compile instead of failing.
  program: 'typescript',
  describe: (ceilings) => [
    'Runs JavaScript in a fresh, isolated WebAssembly sandbox (a JavaScript engine, not Node.js: no process, no child processes, no npm packages).',
    'Either define `function main(input) { ... }` (it may be async) and return a JSON value — the result is what main returns, and console.log output comes back as stdout — or write a plain script without main: then its printed output is the result.',
    'TypeScript annotations are accepted. `import fs from "fs"` (or require("fs")) reads and writes files: ./workspace/ in a session, and ./files/ (read-only) when the server shares a directory. fetch() reaches only the hosts this server allows. Top-level await is not supported: put async code in `async function main()`.',
    common(ceilings),
  ].join('\n\n'),
};

const PYTHON: Language = {
  tool: 'execute_python',
  title: 'Run Python in a sandbox',
  program: 'python',
  describe: (ceilings) => [
    'Runs Python 3.14 in a fresh, isolated WebAssembly sandbox (CPython with most of the standard library: json, re, math, statistics, datetime, collections, itertools, csv, decimal, random, hashlib, ...; no pip packages or C extensions such as numpy or pandas; no threads, subprocesses or asyncio).',
    'Either define `def main(input):` and return a JSON value — the result is what main returns, and print() output comes back as stdout — or write a plain script without main: it runs as __main__ and its printed output is the result.',
    'open(), os and pathlib work on ./workspace/ in a session, and on ./files/ (read-only) when the server shares a directory. urllib.request reaches only the hosts this server allows.',
    common(ceilings),
  ].join('\n\n'),
};

function common(ceilings: Ceilings): string {
  const hosts = ceilings.allowedHosts.length === 0 ? 'none' : ceilings.allowedHosts.join(', ');
  return [
    'Every call starts from nothing: variables, imports and memory never persist between calls. With `session`, the files the code writes in ./workspace/ persist for the next call of that session (session_files, session_read, session_write and session_reset manage them).',
    `This server allows at most: compute ${formatCount(ceilings.compute)} fuel, ram ${formatBytes(ceilings.ram)}, timeout ${formatDuration(ceilings.timeout)}; network: ${hosts}; shared files: ${ceilings.files ? `its directory, read-only at ./${FILES_GUEST_PATH}/` : 'none'}.`,
    'Going past a limit stops the code with error_type fuel_exhausted, memory_exceeded or timeout; a refused file or network access is permission_denied; an exception is task_error; code that does not compile is invalid_task.',
  ].join(' ');
}

export function registerExecuteTools(server: McpServer, context: McpContext): void {
  for (const language of [JAVASCRIPT, PYTHON]) {
    server.registerTool(
      language.tool,
      {
        title: language.title,
        description: language.describe(context.settings.ceilings),
        inputSchema: inputShape(language.tool === JAVASCRIPT.tool ? 'JavaScript' : 'Python'),
        outputSchema: envelopeSchema,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: context.settings.ceilings.allowedHosts.length > 0 },
      },
      (args, extra) => execute(context, language.program, args, extra.signal),
    );
  }
}

interface ExecuteArgs {
  code: string;
  input?: unknown;
  session?: string;
  limits?: CallLimits;
}

async function execute(context: McpContext, language: ProgramLanguage, args: ExecuteArgs, signal: AbortSignal): Promise<CallToolResult> {
  const { settings, sandbox, sessions } = context;
  const result = (envelope: Envelope) => envelopeResult(envelope, settings.maxOutputBytes);
  const planned = planCall(args.limits, settings.ceilings, settings.directory);
  if (!planned.ok) return result(refusedEnvelope(planned.errorType, planned.message));
  let bundle;
  try {
    bundle = await bundleSource({ language, source: args.code });
  } catch (error) {
    if (error instanceof BundleError) return result(refusedEnvelope('invalid_task', error.message));
    throw error;
  }
  const run = (session: OpenSession | undefined) =>
    sandbox.run({
      bundle,
      args: args.input === undefined ? [] : [args.input],
      baseDir: settings.directory,
      options: planned.plan.options,
      mounts: [...planned.plan.mounts, ...(session ? [session.mount] : [])],
      ...(session ? { quotas: [session.quota] } : {}),
      excludedPaths: [CAPSULE_STATE_DIR],
      withoutMain: 'script',
      signal,
    });
  try {
    return result(args.session === undefined ? await run(undefined) : await sessions.use(args.session, true, run));
  } catch (error) {
    if (error instanceof ToolError) return result(refusedEnvelope(error.errorType, error.message));
    throw error;
  }
}
