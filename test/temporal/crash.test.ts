/**
 * Resume after a crash, for real: a worker process killed with SIGKILL mid-step, and the dev server itself stopped
 * and restarted on its persisted SQLite file mid-pipeline. In both cases the pipeline completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startDevServer, pickPort } from '../../src/client/dev-server.js';
import { awaitOutcome } from '../../src/client/outcome.js';
import { PROGRESS_QUERY, type PipelineProgress } from '../../src/workflows/shared.js';
import { activityTimeline, createHarness, TASKS, type Harness } from './helpers.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));
const task = (name: string) => `${path.join(TASKS, 'steps.ts')}#${name}`;

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  expect(await h.replayAll()).toBeGreaterThan(0);
  await h.close();
});

/** Resolves once the step's activity has been picked up by a worker (the step runs and its activity is started). */
async function waitUntilRunning(handle: WorkflowHandle, stepId: string): Promise<void> {
  for (;;) {
    const { raw } = await handle.describe();
    const started = (raw.pendingActivities ?? []).some((a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
    if (started && progress?.steps.some((s) => s.id === stepId && s.status === 'running')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function spawnWorker(address: string, taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, address, taskQueue], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker process exited early with code ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

describe('crash and resume', () => {
  it('finishes a pipeline after its worker is killed with SIGKILL mid-step', async () => {
    const file = h.writePipeline({
      name: 'crash',
      retry: { initialInterval: '200ms', heartbeatTimeout: '3s' },
      steps: [
        { id: 'first', task: task('main'), input: { n: 1 } },
        { id: 'slow', task: task('slow'), input: { ms: 6000, tag: '{{ steps.first.output.input.n }}' } },
        { id: 'last', task: task('main'), input: '{{ steps.slow.output }}' },
      ],
    });
    const taskQueue = h.queue('crash');
    const child = await spawnWorker(h.address, taskQueue);
    const { handle } = await h.start(file, taskQueue);
    await waitUntilRunning(handle, 'slow');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const worker = await h.startWorker(taskQueue);
    try {
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.output).toEqual({ step: 'main', input: { tag: 1 } });
      const slow = outcome.result!.steps.find((s) => s.id === 'slow')!;
      expect(slow.attempts).toBe(2);
      expect(slow.earlier_attempts).toEqual([expect.objectContaining({ attempt: 1, error_type: 'lost' })]);
    } finally {
      await worker.stop();
    }
    // Completed steps ran once: one ActivityTaskScheduled each; the interrupted step finished on attempt 2.
    const timeline = activityTimeline(await h.history(handle.workflowId));
    expect(timeline.map((t) => t.stepId)).toEqual(['first', 'slow', 'last']);
    expect(timeline.find((t) => t.stepId === 'first')).toMatchObject({ startedAttempt: 1, closed: 'completed' });
    expect(timeline.find((t) => t.stepId === 'slow')).toMatchObject({ startedAttempt: 2, closed: 'completed' });
  });

  it('shuts `capsule worker` down gracefully on SIGTERM: the in-flight step finishes on attempt 1', async () => {
    const file = h.writePipeline({
      name: 'graceful',
      steps: [
        { id: 'slow', task: task('slow'), input: { ms: 3000, tag: 'finished' } },
        { id: 'last', task: task('main'), input: '{{ steps.slow.output }}' },
      ],
    });
    const taskQueue = h.queue('graceful');
    const cli = fileURLToPath(new URL('../../bin/capsule.js', import.meta.url));
    const child = spawn(process.execPath, [cli, 'worker'], {
      env: { ...process.env, TEMPORAL_ADDRESS: h.address, CAPSULE_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let logs = '';
    child.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const { handle } = await h.start(file, taskQueue);
    await waitUntilRunning(handle, 'slow');
    child.kill('SIGTERM');
    expect(await exited, logs).toBe(0);
    expect(logs).toContain('"message":"shutdown requested: finishing in-flight steps"');

    const worker = await h.startWorker(taskQueue);
    try {
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.steps.find((s) => s.id === 'slow')).toMatchObject({ status: 'succeeded', attempts: 1 });
    } finally {
      await worker.stop();
    }
  });

  it('finishes a pipeline after the dev server is stopped and restarted on the same database', async () => {
    const dbFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'capsule-db-')), 'temporal.db');
    const binary = inject('temporalBinary');
    const port = await pickPort();
    let server = await startDevServer({ binary, dbFile, port, headless: true });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const file = h.writePipeline({
      name: 'restart',
      retry: { initialInterval: '200ms', heartbeatTimeout: '3s' },
      steps: [
        { id: 'first', task: task('main'), input: { n: 2 } },
        { id: 'slow', task: task('slow'), input: { ms: 3000, tag: 'during-restart' } },
        { id: 'last', task: task('main'), input: '{{ steps.slow.output }}' },
      ],
    });
    const taskQueue = h.queue('restart');
    let worker = await h.startWorker(taskQueue, server.address);
    try {
      const { handle } = await h.start(file, taskQueue, { client, record: false });
      await waitUntilRunning(handle, 'slow');
      // The worker keeps running through the outage; its polls fail and resume when the server is back.
      await server.stop();
      server = await startDevServer({ binary, dbFile, port, headless: true });
      const outcome = await awaitOutcome(client.workflow.getHandle(handle.workflowId));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.output).toEqual({ step: 'main', input: { tag: 'during-restart' } });
      expect(outcome.result!.steps.find((s) => s.id === 'first')?.attempts).toBe(1);
      // Replay this history too, while its server is up (the suite's replay uses the shared server).
      const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
      const { Worker } = await import('@temporalio/worker');
      await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, handle.workflowId);
    } finally {
      await worker.stop();
      await connection.close();
      await server.stop();
    }
  });
});
