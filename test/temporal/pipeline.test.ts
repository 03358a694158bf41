/** The pipeline workflow on a real dev server with real sandboxes: dependencies, fan-out, retries, failures. */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome } from '../../src/client/outcome.js';
import { liveSteps } from '../../src/client/live-steps.js';
import { activityTimeline, createHarness, TASKS, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  // Determinism: every history this file produced must replay against the current workflow code.
  const replayed = await h.replayAll();
  expect(replayed).toBeGreaterThan(0);
  await h.close();
});

const task = (name: string, file = 'steps.ts') => `${path.join(TASKS, file)}#${name}`;
const fastRetry = { initialInterval: '100ms', backoffCoefficient: 1, maximumInterval: '100ms' };

describe('pipeline workflow', () => {
  it('runs a fan-out of 5 and a parallel branch, respecting dependencies', async () => {
    const file = h.writePipeline({
      name: 'fanout',
      input: { topic: 'wasm', n: 5 },
      steps: [
        { id: 'plan', task: task('plan'), input: { topic: '{{ input.topic }}', n: '{{ input.n }}' } },
        { id: 'fetch', task: task('fetch'), forEach: '{{ steps.plan.output }}', input: { query: '{{ item }}', index: '{{ index }}' } },
        { id: 'side', task: task('main'), input: { note: 'parallel branch for {{ input.topic }}' } },
        { id: 'combine', task: task('combine'), input: { fetched: '{{ steps.fetch.output }}', side: '{{ steps.side.output.input.note }}' } },
      ],
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    const result = outcome.result!;
    expect(result.output).toEqual({ total: 'wasm#0'.length * 5, count: 5, side: 'parallel branch for wasm' });
    expect(result.steps.map((s) => s.id).sort()).toEqual(['combine', 'fetch[0]', 'fetch[1]', 'fetch[2]', 'fetch[3]', 'fetch[4]', 'plan', 'side']);
    for (const step of result.steps) {
      expect(step.status).toBe('succeeded');
      expect(step.attempts).toBe(1);
      expect(step.execution?.fuel_consumed).toBeGreaterThan(0);
      expect(step.activity).toEqual({ run_id: expect.any(String), activity_id: step.id });
    }
    expect(result.totals.steps).toBe(8);
    expect(result.totals.fuel_consumed).toBe(result.steps.reduce((sum, s) => sum + (s.execution?.fuel_consumed ?? 0), 0));

    // Order from the history: fetch items are scheduled after plan completed; combine after every fetch and side.
    const timeline = activityTimeline(await h.history(outcome.workflowId));
    const at = (id: string) => timeline.find((t) => t.stepId === id)!;
    for (let i = 0; i < 5; i++) expect(at(`fetch[${i}]`).scheduledId).toBeGreaterThan(at('plan').closedId!);
    for (const id of ['fetch[0]', 'fetch[1]', 'fetch[2]', 'fetch[3]', 'fetch[4]', 'side']) {
      expect(at('combine').scheduledId).toBeGreaterThan(at(id).closedId!);
    }
    // The parallel branch did not wait for plan: both were scheduled in the first workflow task.
    expect(at('side').scheduledId).toBeLessThan(at('plan').closedId!);

    // Metadata for the Web UI and search: search attributes (registered on the dev server) and the memo.
    const description = await h.client.workflow.getHandle(outcome.workflowId).describe();
    const attrs = Object.fromEntries(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attrs).toMatchObject({ CapsulePipeline: 'fanout', CapsuleStatus: 'Completed', CapsuleFuel: result.totals.fuel_consumed });
    expect(description.memo?.capsule).toMatchObject({ pipeline: 'fanout', status: 'Completed', totals: { steps: 8 } });
    expect(await description.staticSummary()).toMatch(/^Capsule pipeline fanout · 4 steps · input sha256:[0-9a-f]{12}$/);
  });

  it('retries a task that fails twice and succeeds on the third attempt (maxRetries 2)', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-flaky-'));
    mkdirSync(path.join(base, 'state'));
    const file = h.writePipeline({
      name: 'flaky-ok',
      retry: fastRetry,
      steps: [{ id: 'flaky', task: path.join(TASKS, 'flaky.ts'), input: { key: 'ok', succeedOn: 3 } }],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('succeeded');
    const step = outcome.result!.steps[0]!;
    expect(step.attempts).toBe(3);
    const envelope = (await h.envelopes(outcome)).get('flaky');
    expect(envelope?.execution.retries).toBe(2);
    expect(envelope?.result).toEqual({ calls: 3 });
    // Earlier attempts' failures survive into the final result (and so into history).
    expect(step.earlier_attempts?.map((a) => [a.attempt, a.error_type])).toEqual([[1, 'task_error'], [2, 'task_error']]);
    expect(step.earlier_attempts?.[0]?.message).toContain('call 1 fails');
    expect(envelope?.earlier_attempts).toEqual(step.earlier_attempts);
    expect(outcome.result!.totals.retries).toBe(2);
  });

  it('gives a step the directories its `mounts` name, under their guest paths', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-mounts-'));
    mkdirSync(path.join(base, 'sessions/s1'), { recursive: true });
    writeFileSync(path.join(base, 'sessions/s1/in.txt'), 'from the session');
    const file = h.writePipeline({
      name: 'mounted',
      steps: [{ id: 'work', task: path.join(TASKS, 'workspace.ts'), input: { note: 'step' }, mounts: ['sessions/s1::workspace:rw'] }],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('succeeded');
    expect((await h.envelopes(outcome)).get('work')?.result).toEqual({ seen: 'from the session' });
    expect(readFileSync(path.join(base, 'sessions/s1/out.txt'), 'utf8')).toBe('from the session + step');
  });

  it('fails the pipeline after exactly 2 attempts when maxRetries is 1', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-flaky-'));
    mkdirSync(path.join(base, 'state'));
    const file = h.writePipeline({
      name: 'flaky-fail',
      retry: fastRetry,
      steps: [
        { id: 'flaky', task: path.join(TASKS, 'flaky.ts'), input: { key: 'fail', succeedOn: 3 }, maxRetries: 1 },
        { id: 'after', task: task('main'), input: '{{ steps.flaky.output }}' },
      ],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('failed');
    expect(outcome.result?.failedStep).toBe('flaky');
    const attrs = (await h.client.workflow.getHandle(outcome.workflowId).describe()).typedSearchAttributes.getAll();
    expect(Object.fromEntries(attrs.map((p) => [p.key.name, p.value]))).toMatchObject({ CapsuleStatus: 'Failed', CapsuleFailedStep: 'flaky' });
    const step = outcome.result!.steps.find((s) => s.id === 'flaky')!;
    expect(step.attempts).toBe(2);
    expect(step.error?.error_type).toBe('task_error');
    expect(step.earlier_attempts?.map((a) => a.attempt)).toEqual([1]);
    expect(outcome.result!.steps.find((s) => s.id === 'after')?.status).toBe('skipped');
    const timeline = activityTimeline(await h.history(outcome.workflowId));
    expect(timeline).toHaveLength(1);
    expect(timeline[0]).toMatchObject({ stepId: 'flaky', startedAttempt: 2, closed: 'failed' });
  });

  it('does not retry fuel exhaustion (non-retryable): exactly one attempt', async () => {
    const file = h.writePipeline({ name: 'fuel', retry: fastRetry, steps: [{ id: 'spin', task: task('spin') }] });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('failed');
    const step = outcome.result!.steps[0]!;
    expect(step.attempts).toBe(1);
    expect(step.error?.error_type).toBe('fuel_exhausted');
    expect(outcome.message).toContain('fuel');
    const timeline = activityTimeline(await h.history(outcome.workflowId));
    expect(timeline[0]).toMatchObject({ startedAttempt: 1, closed: 'failed' });
  });

  it('continues past a failed step whose policy is "continue" (its output is null)', async () => {
    const file = h.writePipeline({
      name: 'continue',
      steps: [
        { id: 'spin', task: task('spin'), onFailure: 'continue' },
        { id: 'after', task: task('main'), input: { got: '{{ steps.spin.output }}' } },
      ],
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result!.steps.find((s) => s.id === 'spin')?.status).toBe('failed');
    expect(outcome.result!.output).toEqual({ step: 'main', input: { got: null } });
  });

  it('shows a running step\'s live attempt and the failure it is retrying after', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-flaky-'));
    mkdirSync(path.join(base, 'state'));
    const file = h.writePipeline({
      name: 'live',
      retry: { initialInterval: '2s', backoffCoefficient: 1 },
      steps: [{ id: 'flaky', task: path.join(TASKS, 'flaky.ts'), input: { key: 'live', succeedOn: 2 } }],
    });
    const taskQueue = h.queue('live');
    const worker = await h.startWorker(taskQueue);
    try {
      const { handle } = await h.start(file, taskQueue, { baseDir: base });
      let live = await liveSteps(handle);
      while (live.get('flaky')?.attempt !== 2) {
        await new Promise((r) => setTimeout(r, 100));
        live = await liveSteps(handle);
      }
      expect(live.get('flaky')?.lastFailure).toContain('call 1 fails');
      const outcome = await awaitOutcome(handle);
      expect(outcome.result?.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    } finally {
      await worker.stop();
    }
  });

  it('gives each step its context: workflow, step with item index, attempt, and a key stable per step, new per run', async () => {
    const file = h.writePipeline({ name: 'whoami', steps: [{ id: 'who', task: task('main', 'whoami.ts'), forEach: [1, 2] }] });
    const taskQueue = h.queue('whoami');
    const worker = await h.startWorker(taskQueue);
    try {
      const runs = [];
      // The same pipeline twice, under the same workflow id: the second is a new run of it.
      for (let i = 0; i < 2; i++) {
        const { handle } = await h.start(file, taskQueue);
        const outcome = await awaitOutcome(handle);
        const runId = (await handle.describe()).runId;
        runs.push({ workflowId: handle.workflowId, runId, contexts: outcome.result!.output as Record<string, unknown>[] });
      }
      for (const run of runs) {
        expect(run.contexts).toEqual([0, 1].map((index) => ({
          workflowId: run.workflowId, runId: run.runId, stepId: `who[${index}]`, attempt: 1, idempotencyKey: expect.stringMatching(/^[0-9a-f]{32}$/),
        })));
        expect(run.contexts[0]!.idempotencyKey).not.toBe(run.contexts[1]!.idempotencyKey);
      }
      expect(runs[1]!.workflowId).toBe(runs[0]!.workflowId);
      expect(runs[1]!.runId).not.toBe(runs[0]!.runId);
      expect(runs[1]!.contexts.map((c) => c.idempotencyKey)).not.toContain(runs[0]!.contexts[0]!.idempotencyKey);
    } finally {
      await worker.stop();
    }
  });

  it('cancels a running pipeline: the running step is cancelled and the rest never starts', async () => {
    const file = h.writePipeline({
      name: 'cancel',
      steps: [
        { id: 'slow', task: task('slow'), input: { ms: 20000, tag: 'never' } },
        { id: 'after', task: task('main'), input: '{{ steps.slow.output }}' },
      ],
    });
    const taskQueue = h.queue('cancel');
    const worker = await h.startWorker(taskQueue);
    try {
      const { handle } = await h.start(file, taskQueue);
      while (!(await liveSteps(handle)).has('slow')) await new Promise((r) => setTimeout(r, 100));
      await handle.cancel();
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('cancelled');
      const timeline = activityTimeline(await h.history(handle.workflowId));
      expect(timeline.map((t) => t.stepId)).toEqual(['slow']);
    } finally {
      await worker.stop();
    }
  });
});
