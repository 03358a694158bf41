/**
 * The pipeline workflow with a mocked runTask activity on Temporal's time-skipping test server
 * (test/support/test-server.ts): retry backoffs and timers of minutes pass in milliseconds, so the workflow's own
 * decisions (retries, lost attempts, cancellation of a fan-out, the contract check of its input) are tested in
 * seconds. The test server does not skip time while an activity runs, so a heartbeat or start-to-close timeout of
 * a running attempt is tested on the real server (test/temporal/crash.test.ts). The activity's decisions have their
 * own tests (test/activities); the whole path runs on a real server in test/temporal.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedTaskOptions } from '../../src/config/task-options.js';
import { installRuntime } from '../../src/client/runtime.js';
import { workflowBundle } from '../../src/client/workflow-bundle.js';
import type { Envelope } from '../../src/sandbox/index.js';
import { DEFAULT_RETRY_TUNING, LOST_ATTEMPTS_EXHAUSTED, PIPELINE_FAILED, WORKER_SHUTDOWN, type PipelineInput, type PipelineResult, type RunTaskInput, type RunTaskResult, type StepSpec } from '../../src/workflows/shared.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const SHA = 'b'.repeat(64);
const MINUTE = 60_000;
const OPTIONS: ResolvedTaskOptions = {
  name: 'main', compute: 1000, ram: 64 * 1024 * 1024, timeout: 10 * MINUTE, maxRetries: 0, allowedFiles: [], allowedHosts: [], envVariables: [], secrets: {}, maxResponseSize: 1024,
};

let server: TestServer | undefined;
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let queues = 0;

beforeAll(async () => {
  installRuntime('ERROR');
  [server, bundle] = await Promise.all([startTestServer(), workflowBundle()]);
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: server.placeholder }, port: server.port } });
}, 300_000);

afterAll(async () => {
  await env?.teardown();
  await server?.stop();
});

function step(id: string, over: Partial<StepSpec> = {}, options: Partial<ResolvedTaskOptions> = {}, maxLostAttempts = 0): StepSpec {
  return { id, task: { bundle: SHA, task: 'main', options: { ...OPTIONS, ...options }, maxLostAttempts }, input: null, dependsOn: [], onFailure: 'fail', ...over };
}

function pipelineInput(steps: StepSpec[], retry: Partial<PipelineInput['retry']> = {}): PipelineInput {
  return {
    name: 'skipping', source: 'skipping.yaml', input: { items: [0, 1, 2] }, steps,
    bundles: { [SHA]: { sha256: SHA, code: '', entryFile: '/project/task.ts' } },
    baseDir: '/project', defaults: {}, retry: { ...DEFAULT_RETRY_TUNING, ...retry }, searchAttributes: false,
  };
}

function result(input: RunTaskInput, over: Partial<Envelope> = {}): RunTaskResult {
  return {
    success: true, result: { step: input.stepId }, error: null, ...over,
    execution: {
      task_name: 'main', duration_ms: 1, retries: 0, fuel_consumed: 1, fuel_limit: 1000, ram_used: 1, ram_limit: 1, host_requests: [], denials: [], stdout: '', stderr: '', truncated: false,
    },
    earlier_attempts: [], lost_attempts: [], sizes: { result_bytes: 2, stdout_bytes: 0, stderr_bytes: 0 },
  };
}

/** Waits for the attempt's cancellation (it heartbeats, so the worker hears of it): an attempt that never ends by itself. */
async function hang(): Promise<never> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 50);
  try {
    await new Promise((resolve) => ctx.cancellationSignal.addEventListener('abort', resolve, { once: true }));
  } finally {
    clearInterval(beat);
  }
  throw ctx.cancellationSignal.reason;
}

/** Runs the pipeline on a worker whose runTask is `runTask`; returns its result, or the PipelineResult it failed with. */
async function run(input: PipelineInput, runTask: (input: RunTaskInput) => Promise<RunTaskResult>): Promise<{ result: PipelineResult; skippedMs: number }> {
  const taskQueue = `skipping-${++queues}`;
  const worker = await Worker.create({
    connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: { runTask },
    maxHeartbeatThrottleInterval: '50ms', defaultHeartbeatThrottleInterval: '50ms', shutdownGraceTime: '1s',
  });
  const before = await env.currentTimeMs();
  const outcome = await worker.runUntil(
    env.client.workflow.execute('pipeline', { args: [input], taskQueue, workflowId: `${taskQueue}-${Date.now()}` }).then(
      (value) => value as PipelineResult,
      (error: unknown) => {
        if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure && error.cause.type === PIPELINE_FAILED) return error.cause.details?.[0] as PipelineResult;
        throw error;
      },
    ),
  );
  return { result: outcome, skippedMs: (await env.currentTimeMs()) - before };
}

describe('the pipeline workflow, with time skipping', () => {
  it('an approval step\'s 24h timer decides with onTimeout, and `when` follows the decision', async () => {
    const approval = (onTimeout: 'approve' | 'reject'): StepSpec[] => [
      { id: 'review', approval: { prompt: 'ship?', timeoutMs: 24 * 60 * MINUTE, onTimeout }, input: null, dependsOn: [], onFailure: 'fail' },
      step('ship', { when: '{{ steps.review.output.approved }}', dependsOn: ['review'] }),
    ];
    for (const onTimeout of ['approve', 'reject'] as const) {
      const { result: outcome, skippedMs } = await run(pipelineInput(approval(onTimeout)), async (input) => result(input));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.steps.find((s) => s.id === 'review')?.approval?.decision).toMatchObject({ approved: onTimeout === 'approve', by: null, comment: `no decision within 24h: ${onTimeout === 'approve' ? 'approved' : 'rejected'} by onTimeout` });
      expect(outcome.steps.find((s) => s.id === 'ship')?.status).toBe(onTimeout === 'approve' ? 'succeeded' : 'skipped');
      expect(skippedMs).toBeGreaterThanOrEqual(24 * 60 * MINUTE);
    }
  });


  it('retries a task that fails on its own after backoffs of minutes, within maxRetries', async () => {
    const { result: outcome, skippedMs } = await run(pipelineInput([step('flaky', {}, { maxRetries: 2 })], { initialIntervalMs: 10 * MINUTE, maximumIntervalMs: 60 * MINUTE }), async (input) => {
      const attempt = Context.current().info.attempt;
      if (attempt < 3) {
        const failed = result(input, { success: false, result: null, error: { error_type: 'task_error', message: `attempt ${attempt} failed` } });
        throw ApplicationFailure.create({ type: 'task_error', message: `attempt ${attempt} failed`, details: [failed] });
      }
      return { ...result(input), execution: { ...result(input).execution, retries: 2 } };
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.steps).toMatchObject([{ id: 'flaky', status: 'succeeded', attempts: 3, lostAttempts: 0 }]);
    // 10 + 20 minutes of backoff went by on the server's clock.
    expect(skippedMs).toBeGreaterThanOrEqual(30 * MINUTE);
  });

  it('retries an attempt its worker handed back on shutdown as a lost one, after its backoff', async () => {
    const { result: outcome, skippedMs } = await run(pipelineInput([step('handed', {}, {}, 1)], { initialIntervalMs: 15 * MINUTE, maximumIntervalMs: 15 * MINUTE }), async (input) => {
      const attempt = Context.current().info.attempt;
      if (attempt === 1) throw ApplicationFailure.retryable('step handed: its worker shut down and handed the step back', WORKER_SHUTDOWN);
      return { ...result(input), lost_attempts: [{ attempt: 1, reason: 'its worker shut down and handed the step back', last_heartbeat_ms: 5 }] };
    });
    expect(outcome.steps[0]?.failure).toBeUndefined();
    expect(outcome.steps).toMatchObject([{ id: 'handed', status: 'succeeded', attempts: 2, lostAttempts: 1 }]);
    expect(skippedMs).toBeGreaterThanOrEqual(15 * MINUTE);
  });

  it('records the lost attempts of a step the activity refused to run again', async () => {
    const lost = [1, 2].map((attempt) => ({ attempt, reason: 'no result and no heartbeat reached the server', last_heartbeat_ms: null }));
    const { result: outcome } = await run(pipelineInput([step('gone', {}, {}, 1)]), async () => {
      throw ApplicationFailure.create({ type: LOST_ATTEMPTS_EXHAUSTED, message: 'step "gone" was lost 2 time(s)', nonRetryable: true, details: [{ earlier_attempts: [], lost_attempts: lost }] });
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.steps[0]).toMatchObject({ id: 'gone', status: 'failed', attempts: 2, lostAttempts: 2, failure: 'step "gone" was lost 2 time(s)' });
  });

  it('cancels the other items of a fan-out when one fails for good, and records them as cancelled', async () => {
    const fanOut = step('each', { forEach: '{{ input.items }}', input: '{{ item }}' });
    const { result: outcome } = await run(pipelineInput([fanOut]), async (input) => {
      if (input.args[0] === 0) {
        const failed = result(input, { success: false, result: null, error: { error_type: 'fuel_exhausted', message: 'out of fuel' } });
        throw ApplicationFailure.create({ type: 'fuel_exhausted', message: 'out of fuel', nonRetryable: true, details: [failed] });
      }
      return hang();
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.failedStep).toBe('each');
    expect(outcome.steps.map((s) => [s.id, s.status])).toEqual([['each[0]', 'failed'], ['each[1]', 'cancelled'], ['each[2]', 'cancelled']]);
  });

  it('fails at once, naming the field, when its input breaks the contract', async () => {
    const broken = pipelineInput([step('bad')]);
    broken.steps[0]!.task!.bundle = 'not-a-sha';
    const failure = await run(broken, async (input) => result(input)).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InvalidPipeline', message: 'invalid pipeline input: steps[0].task.bundle: expected a sha256' });
  });
});
