/**
 * Turns what the pool saw of one job into an envelope: the single place where a guest's fate becomes an
 * `error_type`. Deterministic limits are checked before the guest's own error, because hitting a limit often
 * surfaces inside the guest as some other exception.
 */
import { formatBytes, formatCount, formatDuration } from '../config/units.js';
import type { ResolvedTaskOptions } from '../config/task-options.js';
import type { Denial, Envelope, ErrorType, HostRequest, TaskError } from './envelope.js';
import { readFailure, readRunReply } from './guest-replies.js';
import type { GuestFailure } from './guest/protocol.js';
import { shorten } from './host/wire-limits.js';
import type { JobResult } from './pool.js';

/** An error message is one line of diagnosis, not a channel for output: longer ones are cut to this. */
export const MAX_MESSAGE_CHARS = 16 * 1024;

export interface EnvelopeLimits {
  /** Cap on each of stdout and stderr, in bytes (the stack of an uncaught error is part of stderr). */
  outputCapBytes: number;
  /** The run may be a program without `main` run as a script: then its stdout is its result. */
  scriptResult?: boolean;
}

const OUT_OF_MEMORY = /out of memory|allocation size overflow|Array buffer allocation failed|Out of bounds memory/i;
/**
 * CPython's allocator failing surfaces as an ordinary, bare `MemoryError` (the traceback's last line), often well
 * below the cap: the request that failed was the one that would have crossed it. A task raising
 * `MemoryError("...")` itself has a message, and stays a task_error.
 */
const PYTHON_MEMORY_ERROR = /^MemoryError$/;

interface Collected {
  stdout: string;
  stderr: string;
  truncated: boolean;
  hostRequests: HostRequest[];
  denials: Denial[];
  lastFuel: number;
  lastRam: number;
}

function collect(result: JobResult): Collected {
  const c: Collected = { stdout: '', stderr: '', truncated: false, hostRequests: [], denials: [], lastFuel: 0, lastRam: 0 };
  for (const event of result.events) {
    if (event.kind === 'output') c[event.stream] += event.text;
    else if (event.kind === 'truncated') c.truncated = true;
    else if (event.kind === 'request') c.hostRequests.push(event.request);
    else if (event.kind === 'denial') c.denials.push(event.denial);
    else if (event.kind === 'meter') { c.lastFuel = event.fuelConsumed; c.lastRam = event.ramUsed; }
  }
  return c;
}

function error(error_type: ErrorType, message: string): TaskError {
  return { error_type, message: shorten(message, MAX_MESSAGE_CHARS) };
}

function malformed(reason: string): TaskError {
  return error('internal_error', `the sandbox runner returned a malformed reply (${reason}); the task's code may have replaced what the runner relies on (such as JSON.stringify)`);
}

/** A guest error that is the sandbox refusing something (and the guest not catching it) is a permission_denied. */
function isDenial(failure: GuestFailure, denials: Denial[]): boolean {
  if (denials.length === 0) return false;
  if (/permission denied|not available in the Capsule sandbox/i.test(failure.message)) return true;
  const last = denials[denials.length - 1]!;
  return last.capability === 'network' && /network|fetch|request/i.test(failure.message);
}

export function toEnvelope(options: ResolvedTaskOptions, result: JobResult, limits: EnvelopeLimits): Envelope {
  const c = collect(result);
  const end = result.end;
  const failure = end.kind === 'done' && end.done.outcome.status === 'failed' ? readFailure(end.done.outcome.payload) : undefined;
  let fuel = c.lastFuel;
  let ram = c.lastRam;
  let outcome: { success: true; result: unknown } | { success: false; error: TaskError };
  switch (end.kind) {
    case 'timeout':
      outcome = { success: false, error: error('timeout', `the task ran longer than its timeout of ${formatDuration(options.timeout)} and was stopped`) };
      break;
    case 'aborted':
      outcome = { success: false, error: error('internal_error', 'the run was cancelled by its caller') };
      break;
    case 'crashed':
      outcome = { success: false, error: error('internal_error', `the sandbox failed: ${end.message}`) };
      break;
    case 'done': {
      const { done } = end;
      fuel = done.fuelConsumed;
      ram = done.ramUsed;
      const o = done.outcome;
      const message = o.status === 'trapped' ? o.message : failure?.ok ? failure.value.message : '';
      const reply = o.status === 'returned' ? readRunReply(o.resultJson) : undefined;
      if (done.fuelExhausted) {
        outcome = { success: false, error: error('fuel_exhausted', `the task used its whole fuel budget of ${formatCount(options.compute)} units`) };
      } else if (o.status !== 'returned' && (OUT_OF_MEMORY.test(message) || PYTHON_MEMORY_ERROR.test(message) || (o.status === 'trapped' && done.memoryAtCap))) {
        outcome = { success: false, error: error('memory_exceeded', `the task needed more memory than its ram limit of ${formatBytes(options.ram)} (${message})`) };
      } else if (reply) {
        outcome = reply.ok ? { success: true, result: reply.value.script && limits.scriptResult ? c.stdout : reply.value.result }
          : { success: false, error: reply.limit ? error('task_error', reply.reason) : malformed(reply.reason) };
      } else if (o.status === 'trapped') {
        outcome = { success: false, error: error('internal_error', `the guest trapped: ${o.message}`) };
      } else if (!failure?.ok) {
        outcome = { success: false, error: malformed(failure?.reason ?? 'no failure report') };
      } else if (failure.value.kind === 'invalid_task') {
        outcome = { success: false, error: error('invalid_task', failure.value.message) };
      } else {
        outcome = { success: false, error: error(isDenial(failure.value, c.denials) ? 'permission_denied' : 'task_error', failure.value.message) };
      }
      break;
    }
  }
  const stack = failure?.ok ? failure.value.stack?.trimEnd() : undefined;
  const stderr = withStack(c.stderr, stack, limits.outputCapBytes);
  return {
    success: outcome.success,
    result: outcome.success ? outcome.result : null,
    error: outcome.success ? null : outcome.error,
    execution: {
      task_name: options.name,
      duration_ms: Math.round(result.runMs),
      retries: 0,
      fuel_consumed: Math.max(0, fuel),
      fuel_limit: options.compute,
      ram_used: ram,
      ram_limit: options.ram,
      host_requests: c.hostRequests,
      denials: c.denials,
      stdout: c.stdout,
      stderr: stderr.text,
      truncated: c.truncated || stderr.cut,
    },
  };
}

/**
 * An exception the task did not catch ends its stderr with the guest's stack trace (the whole Python traceback, the
 * JavaScript error and its stack), as an uncaught exception would print it natively: the envelope's `error` keeps
 * only the last line. stderr stays within the output cap, stack included: the stack keeps at least a quarter of it.
 */
function withStack(stderr: string, stack: string | undefined, capBytes: number): { text: string; cut: boolean } {
  if (!stack) return { text: stderr, cut: false };
  const separated = `${stderr === '' || stderr.endsWith('\n') ? '' : '\n'}${stack}\n`;
  const stderrBytes = Buffer.byteLength(stderr);
  const stackBytes = Buffer.byteLength(separated);
  if (stderrBytes + stackBytes <= capBytes) return { text: stderr + separated, cut: false };
  const stackBudget = Math.min(stackBytes, Math.max(capBytes - stderrBytes, Math.floor(capBytes / 4)));
  const note = '\n(stack cut at the output cap)\n';
  return { text: prefixBytes(stderr, capBytes - stackBudget) + prefixBytes(separated, Math.max(0, stackBudget - note.length)) + note, cut: true };
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut at a character boundary. */
export function prefixBytes(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const { read } = new TextEncoder().encodeInto(text, new Uint8Array(maxBytes));
  return text.slice(0, read);
}

/** An envelope for a run that never reached a guest (bad options, unknown task). */
export function invalidTaskEnvelope(taskName: string, message: string): Envelope {
  return {
    success: false,
    result: null,
    error: error('invalid_task', message),
    execution: {
      task_name: taskName, duration_ms: 0, retries: 0, fuel_consumed: 0, fuel_limit: 0, ram_used: 0, ram_limit: 0,
      host_requests: [], denials: [], stdout: '', stderr: '', truncated: false,
    },
  };
}
