/**
 * The runTask activity: one attempt of one task in a fresh sandbox. It decides the step's two retry budgets (the
 * activity's retry policy only bounds their sum): the task failing on its own is retried up to `maxRetries` times;
 * attempts that left no result — lost — up to `maxLostAttempts` times. It heartbeats from the start (so a dead
 * worker is noticed within the heartbeat timeout and cancellation reaches the guest), gives the guest its
 * context() (workflow, step, attempt, idempotency key), and holds its report until the server is there to take it.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { resolvedTaskOptionsSchema, type ResolvedTaskOptions } from '../config/task-options.js';
import { formatBytes } from '../config/units.js';
import { DETERMINISTIC_ERROR_TYPES, type Envelope, type RunRequest, type TaskBundle, type TaskContext } from '../sandbox/index.js';
import { attemptsBefore, budgetsOf, HANDED_BACK, lostAttemptsMessage, lostBudgetSpent, recordFields, retriesSpent } from '../workflows/attempts.js';
import { checkContract, LOST_ATTEMPTS_EXHAUSTED, MAX_VALUE_BYTES, runTaskInputSchema, WORKER_SHUTDOWN, type AttemptBudgets, type CodeRecord, type EnvelopeSizes, type RunTaskInput, type RunTaskResult } from '../workflows/shared.js';
import { BundleSource, type WorkflowRef } from './bundle-source.js';
import { runCode } from './run-code.js';
import { AttemptHeartbeat } from './heartbeat.js';

/** What runTask needs from a sandbox (the real Sandbox satisfies it; benchmarks plug in a native runner). */
export interface TaskRunner {
  run(request: RunRequest): Promise<Envelope>;
  /** What a bundle's tasks declare (a code step compares its code's declaration with the options it runs with). */
  describe?(bundle: TaskBundle, ctx: { baseDir: string }): Promise<ReadonlyMap<string, ResolvedTaskOptions>>;
}

/** Where the activity reads a bundle's code (the real one: the workflow's input in history; tests pass their own). */
export interface BundleReader {
  code(sha256: string, client: Client, workflow: WorkflowRef): Promise<string>;
}

export interface ActivityDeps {
  sandbox: TaskRunner;
  /** Default: the workflow's input in history, cached (bundle-source.ts). */
  bundles?: BundleReader;
  /** Resolve allowedFiles here instead of the client's directory (for workers on another machine). */
  baseDir?: string;
  /** Host environment listed envVariables are taken from; default process.env. */
  env?: Record<string, string | undefined>;
}

export function createRunTask(deps: ActivityDeps) {
  const bundles = deps.bundles ?? new BundleSource();
  return async function runTask(raw: RunTaskInput): Promise<RunTaskResult> {
    const ctx = Context.current();
    const input = checkContract(runTaskInputSchema, raw, 'runTask input');
    const budgets = budgetsOf(input.ref);
    const { attempt, workflowExecution, workflowNamespace } = ctx.info;
    if (workflowExecution === undefined) throw ApplicationFailure.nonRetryable('runTask only runs as a workflow activity (it reads the task code from the workflow)', 'internal_error');
    const earlier = attemptsBefore(ctx.info.heartbeatDetails, attempt);
    const heartbeat = new AttemptHeartbeat(ctx, input.stepId, earlier);
    let envelope: Envelope;
    let code: CodeRecord | undefined;
    try {
      if (lostBudgetSpent(earlier, budgets)) {
        const message = lostAttemptsMessage(input.stepId, earlier, budgets);
        ctx.log.warn('step lost too often', { step: input.stepId, attempt, lost: earlier.lost.length, maxLostAttempts: budgets.maxLostAttempts });
        throw ApplicationFailure.create({ type: LOST_ATTEMPTS_EXHAUSTED, message, nonRetryable: true, details: [recordFields(earlier)] });
      }
      const { ref } = input;
      ctx.log.info('step started', { step: input.stepId, ...('language' in ref ? { language: ref.language } : { task: ref.task, sha256: ref.bundle }), attempt });
      try {
        const common = {
          ...(ref.mounts === undefined ? {} : { mounts: ref.mounts }),
          args: input.args,
          baseDir: deps.baseDir ?? input.baseDir,
          defaults: input.defaults,
          env: deps.env ?? process.env,
          context: taskContext(input, workflowExecution, attempt),
          signal: ctx.cancellationSignal,
          onProgress: heartbeat.onProgress,
        };
        if ('language' in ref) {
          const ran = await runCode(deps.sandbox, ref, input.source ?? '', common);
          envelope = ran.envelope;
          code = ran.record;
        } else {
          const source = await bundles.code(ref.bundle, ctx.client, { namespace: workflowNamespace ?? ctx.client.options.namespace, ...workflowExecution });
          // The step's task as the workflow input carries it: the export, the options the client resolved, the mounts.
          envelope = await deps.sandbox.run({ ...common, bundle: { sha256: ref.bundle, code: source, entryFile: input.entryFile }, task: ref.task, resolved: checkContract(resolvedTaskOptionsSchema, ref.options, `options of step "${input.stepId}"`) });
        }
      } catch (error) {
        // No envelope: the worker failed before or around the task (its code unreadable, the machine too busy to
        // load it). That is the attempt lost, not the task's failure, and it is retried within the lost budget.
        heartbeat.recordLost(`the worker could not run the task: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      if (ctx.cancellationSignal.aborted) {
        if (ctx.cancellationDetails?.workerShutdown) {
          // A graceful shutdown hands the step back: a lost attempt, never the task's own failure. A retryable
          // failure (not a cancellation) makes the SDK flush this last heartbeat before it reports.
          heartbeat.recordLost(HANDED_BACK);
          throw ApplicationFailure.retryable(`step ${input.stepId}: ${HANDED_BACK}`, WORKER_SHUTDOWN);
        }
        throw new CancelledFailure(`step ${input.stepId} cancelled`);
      }
      return await report(ctx, input, budgets, heartbeat, envelope, code);
    } finally {
      heartbeat.stop();
    }
  };
}

/** The attempt's outcome as the activity's result or failure, once the server is there to take it. */
async function report(ctx: Context, input: RunTaskInput, budgets: AttemptBudgets, heartbeat: AttemptHeartbeat, envelope: Envelope, code: CodeRecord | undefined): Promise<RunTaskResult> {
  const { attempt } = ctx.info;
  const earlier = heartbeat.records;
  // Large results and output are fine: the claim-check stores them and history keeps a reference. Only a result
  // too large to move at all fails, once (retrying would return the same), with the rest of its envelope.
  const sizes = measure(envelope);
  const record: RunTaskResult = { ...envelope, execution: { ...envelope.execution, retries: earlier.failures.length }, ...recordFields(earlier), sizes, ...(code === undefined ? {} : { code }) };
  const log = { step: input.stepId, attempt, success: envelope.success, duration_ms: envelope.execution.duration_ms, fuel: envelope.execution.fuel_consumed };
  if (sizes.result_bytes > MAX_VALUE_BYTES) {
    const message = `step "${input.stepId}": the task returned ${Number.isFinite(sizes.result_bytes) ? formatBytes(sizes.result_bytes) : 'a value too large to serialize'} of JSON, more than a step may return (${formatBytes(MAX_VALUE_BYTES)}): write large data to an allowed file and return its path`;
    const refused: RunTaskResult = { ...record, success: false, result: null, error: { error_type: 'task_error', message }, sizes: { ...sizes, result_bytes: 0 } };
    ctx.log.warn('step failed', { ...log, error_type: 'task_error', message });
    await confirmed(ctx, heartbeat, input.stepId);
    throw ApplicationFailure.create({ type: 'task_error', message, nonRetryable: true, details: [refused] });
  }
  if (envelope.success || envelope.error === null) {
    await confirmed(ctx, heartbeat, input.stepId);
    ctx.log.info('step finished', log);
    return record;
  }
  const { error_type, message } = envelope.error;
  const final = DETERMINISTIC_ERROR_TYPES.includes(error_type) || retriesSpent(earlier, budgets);
  ctx.log.warn('step failed', { ...log, error_type, message, final });
  // The last heartbeat travels with the failure to the server and comes back as the next attempt's details.
  heartbeat.recordFailure({ attempt, error_type, message, duration_ms: envelope.execution.duration_ms });
  await confirmed(ctx, heartbeat, input.stepId);
  throw ApplicationFailure.create({ type: error_type, message, nonRetryable: final, details: [record] });
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

async function confirmed(ctx: Context, heartbeat: AttemptHeartbeat, stepId: string): Promise<void> {
  const confirmation = await heartbeat.confirm();
  if (confirmation !== 'waiting') ctx.log.warn('reporting a step result the server may not take', { step: stepId, confirmation });
}

/**
 * What the guest's context() returns. The idempotency key hashes the workflow's first run id with the step id:
 * every attempt of the step (and every run after a continue-as-new) gets the same key; a new run of the pipeline
 * gets new ones.
 */
function taskContext(input: RunTaskInput, execution: { workflowId: string; runId: string }, attempt: number): TaskContext {
  const idempotencyKey = createHash('sha256').update(`${input.firstExecutionRunId}\n${input.stepId}`).digest('hex').slice(0, 32);
  return { workflowId: execution.workflowId, runId: execution.runId, stepId: input.stepId, attempt, idempotencyKey };
}
