/**
 * The runTask activity: one attempt of one task in a fresh sandbox. It heartbeats while the guest runs (so a dead
 * worker is noticed within the heartbeat timeout and cancellation reaches the guest), sets execution.retries from
 * the attempt number, and carries earlier attempts' failures forward in heartbeat details so the final result (or
 * failure) shows why a step needed several attempts.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { formatBytes } from '../config/units.js';
import { DETERMINISTIC_ERROR_TYPES, type Envelope, type RunProgress, type RunRequest } from '../sandbox/index.js';
import { MAX_VALUE_BYTES, type AttemptFailure, type EnvelopeSizes, type RunTaskHeartbeat, type RunTaskInput, type RunTaskResult } from '../workflows/shared.js';
import { BundleSource } from './bundle-source.js';

/** What runTask needs from a sandbox (the real Sandbox satisfies it; benchmarks plug in a native runner). */
export interface TaskRunner {
  run(request: RunRequest): Promise<Envelope>;
}

export interface ActivityDeps {
  sandbox: TaskRunner;
  /** Resolve allowedFiles here instead of the client's directory (for workers on another machine). */
  baseDir?: string;
  /** Host environment listed envVariables are taken from; default process.env. */
  env?: Record<string, string | undefined>;
}

const HEARTBEAT_INTERVAL_MS = 1000;

const attemptFailureSchema = z.object({
  attempt: z.number().int().positive(),
  error_type: z.string(),
  message: z.string(),
  duration_ms: z.number().nonnegative(),
});
const heartbeatSchema = z.object({ earlier_attempts: z.array(attemptFailureSchema) });

export function createRunTask(deps: ActivityDeps) {
  const bundles = new BundleSource();
  return async function runTask(input: RunTaskInput): Promise<RunTaskResult> {
    const ctx = Context.current();
    const { attempt, workflowExecution, workflowNamespace } = ctx.info;
    if (workflowExecution === undefined) throw ApplicationFailure.nonRetryable('runTask only runs as a workflow activity (it reads the task code from the workflow)', 'internal_error');
    const code = await bundles.code(input.bundle.sha256, ctx.client, { namespace: workflowNamespace ?? ctx.client.options.namespace, ...workflowExecution });
    const earlier = earlierAttempts(ctx.info.heartbeatDetails, attempt);
    let progress: RunProgress = { elapsedMs: 0, stdoutBytes: 0, stderrBytes: 0 };
    const beat = (attempts: AttemptFailure[]) => {
      const details: RunTaskHeartbeat = {
        step_id: input.stepId,
        earlier_attempts: attempts,
        elapsed_ms: progress.elapsedMs,
        stdout_bytes: progress.stdoutBytes,
        stderr_bytes: progress.stderrBytes,
      };
      ctx.heartbeat(details);
    };
    // Heartbeats on a timer, not only from onProgress, so sandbox start-up never looks like a dead worker. No beat
    // at start: short steps (most of them) finish before the first tick and save a round trip each.
    const timer = setInterval(() => beat(earlier), HEARTBEAT_INTERVAL_MS);
    ctx.log.info('step started', { step: input.stepId, task: input.task, sha256: input.bundle.sha256, attempt });
    let envelope: Envelope;
    try {
      envelope = await deps.sandbox.run({
        bundle: { ...input.bundle, code },
        task: input.task,
        args: input.args,
        baseDir: deps.baseDir ?? input.baseDir,
        defaults: input.defaults,
        ...(input.overrides === undefined ? {} : { overrides: input.overrides }),
        ...(input.mounts === undefined ? {} : { mounts: input.mounts }),
        env: deps.env ?? process.env,
        signal: ctx.cancellationSignal,
        onProgress: (p) => {
          progress = p;
        },
      });
    } finally {
      clearInterval(timer);
    }
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`step ${input.stepId} cancelled`);
    // Large results and output are fine: the claim-check stores them and history keeps a reference. Only a result
    // too large to move at all fails, once (retrying would return the same), with the rest of its envelope.
    const sizes = measure(envelope);
    const record: RunTaskResult = { ...envelope, execution: { ...envelope.execution, retries: attempt - 1 }, earlier_attempts: earlier, sizes };
    if (sizes.result_bytes > MAX_VALUE_BYTES) {
      const message = `step "${input.stepId}": the task returned ${Number.isFinite(sizes.result_bytes) ? formatBytes(sizes.result_bytes) : 'a value too large to serialize'} of JSON, more than a step may return (${formatBytes(MAX_VALUE_BYTES)}): write large data to an allowed file and return its path`;
      const refused: RunTaskResult = { ...record, success: false, result: null, error: { error_type: 'task_error', message }, sizes: { ...sizes, result_bytes: 0 } };
      ctx.log.warn('step failed', { step: input.stepId, attempt, error_type: 'task_error', message });
      throw ApplicationFailure.create({ type: 'task_error', message, nonRetryable: true, details: [refused] });
    }
    const result = record;
    const log = { step: input.stepId, attempt, success: envelope.success, duration_ms: envelope.execution.duration_ms, fuel: envelope.execution.fuel_consumed };
    if (envelope.success || envelope.error === null) {
      ctx.log.info('step finished', log);
      return result;
    }
    const { error_type, message } = envelope.error;
    ctx.log.warn('step failed', { ...log, error_type, message });
    // The last heartbeat travels with the failure to the server and comes back as the next attempt's details.
    beat([...earlier, { attempt, error_type, message, duration_ms: envelope.execution.duration_ms }]);
    throw ApplicationFailure.create({
      type: error_type,
      message,
      nonRetryable: DETERMINISTIC_ERROR_TYPES.includes(error_type),
      details: [result],
    });
  };
}

/** Byte sizes of the envelope's parts (the result as JSON); a result JSON cannot hold at all counts as infinite. */
function measure(envelope: Envelope): EnvelopeSizes {
  let resultBytes: number;
  try {
    resultBytes = Buffer.byteLength(JSON.stringify(envelope.result) ?? 'null');
  } catch {
    resultBytes = Number.POSITIVE_INFINITY;
  }
  return { result_bytes: resultBytes, stdout_bytes: Buffer.byteLength(envelope.execution.stdout), stderr_bytes: Buffer.byteLength(envelope.execution.stderr) };
}

/** Failures recorded by earlier attempts; an attempt that left no record (its worker died, or it timed out) is "lost". */
function earlierAttempts(details: unknown, attempt: number): AttemptFailure[] {
  const parsed = heartbeatSchema.safeParse(details);
  const recorded = parsed.success ? (parsed.data.earlier_attempts as AttemptFailure[]) : [];
  const byAttempt = new Map(recorded.filter((a) => a.attempt < attempt).map((a) => [a.attempt, a]));
  const all: AttemptFailure[] = [];
  for (let n = 1; n < attempt; n++) {
    all.push(byAttempt.get(n) ?? { attempt: n, error_type: 'lost', message: 'no result: the attempt timed out or its worker stopped', duration_ms: 0 });
  }
  return all;
}
