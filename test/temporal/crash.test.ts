/**
 * Crashes, outages and load never fail or wedge a pipeline — for real: a dev server of this file's own (a SQLite
 * file, so a kill and restart keeps its state) and two `capsule worker` processes, SIGKILLed, SIGTERMed and
 * restarted as an operator would. Side effects are lines the task appends to a read-write directory, so every run
 * of every attempt is counted, whatever the records say.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pickPort, startDevServer, type DevServer } from '../../src/client/dev-server.js';
import { awaitOutcome } from '../../src/client/outcome.js';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import { workflowBundle } from '../../src/client/workflow-bundle.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { HANDED_BACK } from '../../src/workflows/attempts.js';
import type { StepRecord } from '../../src/workflows/shared.js';
import { activityTimeline, TASKS } from './helpers.js';
import { descendants, running, spawnCapsuleWorker, waitFor, type WorkerProcess } from './processes.js';

const work = `${path.join(TASKS, 'effects.ts')}#work`;
const TASK_QUEUE = 'crash';
/** Workers hand running steps back this long after SIGTERM. */
const SHUTDOWN_GRACE_SECONDS = 4;
const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;

let binary: string;
let dbFile: string;
let port: number;
let server: DevServer;
let connection: Connection;
let client: Client;
let sandbox: Sandbox;
let dir: string;
let workers: WorkerProcess[] = [];
const started: string[] = [];

beforeAll(async () => {
  binary = inject('temporalBinary');
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-crash-'));
  mkdirSync(path.join(dir, 'out'));
  dbFile = path.join(dir, 'temporal.db');
  port = await pickPort();
  server = await startDevServer({ binary, dbFile, port, headless: true });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  sandbox = await Sandbox.create({ poolSize: 1 });
  await ensureWorkers();
});

afterAll(async () => {
  // Every history these tests wrote replays against the current workflow code.
  const histories = await Promise.all(started.map(async (workflowId) => ({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() })));
  const bundle = await workflowBundle();
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'crash-replay' }, histories)) {
    if (result.error) throw new Error(`replay of ${result.workflowId} failed: ${String(result.error)}`);
  }
  for (const w of workers) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await sandbox.close();
  await connection.close();
  await server.stop();
});

/** Two `capsule worker`s polling (replacing the ones a test killed). */
async function ensureWorkers(): Promise<void> {
  workers = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const spawned = await Promise.all(
    Array.from({ length: 2 - workers.length }, () => spawnCapsuleWorker(server.address, TASK_QUEUE, dir, ['--concurrency', '2', '--shutdown-grace', String(SHUTDOWN_GRACE_SECONDS)])),
  );
  workers.push(...spawned);
}

let counter = 0;
async function start(definition: { name: string } & Record<string, unknown>, input?: unknown): Promise<WorkflowHandle> {
  const file = path.join(dir, `pipeline-${++counter}.json`);
  writeFileSync(file, JSON.stringify(definition));
  const prepared = await preparePipeline({ file, cwd: dir, describer: sandbox, ...(input === undefined ? {} : { inputJson: JSON.stringify(input) }) });
  const handle = await startPipeline(client, prepared, { taskQueue: TASK_QUEUE, workflowId: `${definition.name}-${counter}` });
  started.push(handle.workflowId);
  return handle;
}

interface Effect { step: string; attempt: number; event: 'start' | 'done'; key: string }

/** The lines a workflow's runs of `step` (or of its items) appended: one per run that started, one per run that returned. */
function effects(handle: WorkflowHandle, step: string): Effect[] {
  const file = path.join(dir, 'out', 'effects.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').flatMap((line) => {
    const [workflowId, id, attempt, event, key] = line.split(' ');
    if (workflowId !== handle.workflowId || (id !== step && !id!.startsWith(`${step}[`))) return [];
    return [{ step: id!, attempt: Number(attempt), event: event as Effect['event'], key: key! }];
  });
}

/** Attempts running now, by the pid of the worker running them (from its identity, "pid@host"). */
async function runningAttempts(handle: WorkflowHandle): Promise<{ pid: number; attempt: number }[]> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? [])
    .filter((a) => a.state === PENDING_ACTIVITY_STATE_STARTED)
    .map((a) => ({ pid: Number((a.lastWorkerIdentity ?? '').split('@')[0]), attempt: a.attempt ?? 1 }));
}

/** SIGKILL, then check that nothing the worker started outlives it. */
async function killWorker(victim: WorkerProcess): Promise<void> {
  const tree = descendants(victim.pid);
  victim.child.kill('SIGKILL');
  await victim.exited;
  const survivors = await waitFor('the killed worker\'s child processes to end', () => {
    const left = tree.filter(running);
    return left.length === 0 ? [] : undefined;
  }, 15_000).catch(() => tree.filter(running));
  expect(survivors, `processes started by worker ${victim.pid} outlived it`).toEqual([]);
}

function workerWithPid(pid: number): WorkerProcess | undefined {
  return workers.find((w) => w.pid === pid);
}

/** Attempts of each record as they must add up: its own retries, its lost attempts, and the one that ended it. */
function expectConsistent(record: StepRecord): void {
  expect(record.execution).toBeDefined();
  expect(record.attempts).toBe((record.earlier_attempts ?? []).length + record.lostAttempts + 1);
  expect(record.lost_attempts ?? []).toHaveLength(record.lostAttempts);
}

describe('crashes, outages and load', () => {
  it('a fan-out with the default maxRetries survives kill -9 of a worker and a server kill + restart; nothing completed runs again', async () => {
    await ensureWorkers();
    const items = Array.from({ length: 8 }, (_, i) => i);
    const handle = await start({
      name: 'outage',
      retry: { initialInterval: '200ms', maximumInterval: '1s', heartbeatTimeout: '10s' },
      steps: [{ id: 'work', task: work, forEach: '{{ input.items }}', input: { item: '{{ item }}', ms: 3000 } }],
    }, { items });

    // Both workers are running items: kill one of them mid-step.
    const victim = await waitFor('items running on both workers', async () => {
      const pids = new Set((await runningAttempts(handle)).map((a) => a.pid));
      return workers.every((w) => pids.has(w.pid)) ? workers[0] : undefined;
    });
    const killedItems = (await runningAttempts(handle)).filter((a) => a.pid === victim.pid).length;
    await killWorker(victim);
    // Then the server: killed, down for a moment, and started again on its SQLite file.
    await server.kill();
    await new Promise((r) => setTimeout(r, 2000));
    server = await startDevServer({ binary, dbFile, port, headless: true });
    await ensureWorkers();

    const outcome = await awaitOutcome(client.workflow.getHandle(handle.workflowId));
    expect(outcome.status, outcome.message).toBe('succeeded');
    const records = outcome.result!.steps;
    expect(records.map((r) => r.status)).toEqual(items.map(() => 'succeeded'));
    expect(outcome.result!.output).toEqual(records.map((r) => ({ item: r.index, attempt: r.attempts })));
    // The items the killed worker was running were lost (not failed: maxRetries 0 would have ended the pipeline).
    expect(killedItems).toBeGreaterThan(0);
    expect(outcome.result!.totals.lost_attempts).toBeGreaterThanOrEqual(killedItems);
    expect(outcome.result!.totals.retries).toBe(0);
    const timeline = activityTimeline(await client.workflow.getHandle(handle.workflowId).fetchHistory());
    for (const record of records) {
      expectConsistent(record);
      // The history records one completion, by the attempt the record names.
      expect(timeline.filter((t) => t.stepId === record.id)).toEqual([expect.objectContaining({ startedAttempt: record.attempts, closed: 'completed' })]);
      // Side effects: the completed attempt returned once and no attempt ran after it; any earlier run was a lost
      // attempt, and every run of the step had the same idempotency key.
      const runs = effects(handle, record.id);
      expect(runs.filter((e) => e.event === 'done' && e.attempt === record.attempts)).toHaveLength(1);
      expect(runs.filter((e) => e.attempt > record.attempts)).toEqual([]);
      const lost = (record.lost_attempts ?? []).map((a) => a.attempt);
      for (const run of runs.filter((e) => e.attempt < record.attempts)) expect(lost).toContain(run.attempt);
      expect(new Set(runs.map((e) => e.key)).size).toBe(1);
    }
  });

  it('delivers the results of steps that finish while the server is down for longer than the SDK retries a report', async () => {
    await ensureWorkers();
    const items = Array.from({ length: 3 }, (_, i) => i);
    // The default heartbeat timeout: what the server allows a silent attempt before declaring it lost.
    const handle = await start({ name: 'long-outage', steps: [{ id: 'work', task: work, forEach: '{{ input.items }}', input: { item: '{{ item }}', ms: 2000 } }] }, { items });
    await waitFor('every item to start its task', () => (effects(handle, 'work').length === items.length ? true : undefined));
    // Down for 12 s: every item finishes meanwhile, and the SDK's own retries of a completion give up after 10 s.
    await server.kill();
    await new Promise((r) => setTimeout(r, 12_000));
    server = await startDevServer({ binary, dbFile, port, headless: true });
    const outcome = await awaitOutcome(client.workflow.getHandle(handle.workflowId));
    expect(outcome.status, outcome.message).toBe('succeeded');
    for (const record of outcome.result!.steps) {
      expect(record).toMatchObject({ status: 'succeeded', attempts: 1, lostAttempts: 0 });
      expect(effects(handle, record.id).map((e) => `${e.attempt} ${e.event}`)).toEqual(['1 start', '1 done']);
    }
  });

  it('a task failing on its own with maxRetries 0 fails at once: the lost budget never retries it', async () => {
    await ensureWorkers();
    const handle = await start({ name: 'own-failure', steps: [{ id: 'fails', task: work, input: { item: 0, ms: 0, fail: true } }] });
    const outcome = await awaitOutcome(handle);
    expect(outcome.status).toBe('failed');
    const [record] = outcome.result!.steps;
    expect(record).toMatchObject({ id: 'fails', status: 'failed', attempts: 1, lostAttempts: 0 });
    expect(record!.error).toEqual({ error_type: 'task_error', message: 'Error: item 0 fails on its own' });
    expect(effects(handle, 'fails').filter((e) => e.event === 'start')).toHaveLength(1);
    // The activity had room for lost attempts (1 + 10) and ended the step itself, non-retryable, on attempt 1.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.flatMap((e) => e.activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts ?? [])).toEqual([11]);
    expect(events.flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? [])).toEqual([1]);
    expect(events.flatMap((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.nonRetryable ?? [])).toEqual([true]);
  });

  it('under onFailure: fail, a fan-out item failing for good cancels the other items at once', async () => {
    await ensureWorkers();
    // Whichever item starts first fails; every other one would run for 30 s.
    const items = Array.from({ length: 12 }, (_, i) => ({ item: i, ms: 30_000, fail: 'first' }));
    const handle = await start({ name: 'fail-fast', steps: [{ id: 'work', task: work, forEach: '{{ input.items }}', input: '{{ item }}' }] }, { items });
    const outcome = await awaitOutcome(handle);
    expect(outcome.status).toBe('failed');
    expect(outcome.result!.failedStep).toBe('work');
    const records = outcome.result!.steps;
    const failed = records.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.error?.message)).toEqual([expect.stringMatching(/^Error: item \d+ fails on its own$/)]);
    expect(records.filter((r) => r.status !== 'failed').map((r) => r.status)).toEqual(Array(11).fill('cancelled'));
    // Only items that found a free slot (2 workers x 2, one freed by the failure) ever started; none ran to its end.
    const runs = effects(handle, 'work');
    expect(runs.filter((e) => e.event === 'start' && e.step !== failed[0]!.id).length).toBeLessThanOrEqual(4);
    expect(runs.filter((e) => e.event === 'done')).toEqual([]);
  });

  it('hands a running step back on SIGTERM: recorded as lost, never as the task failing', async () => {
    await ensureWorkers();
    const handle = await start({
      name: 'handed-back',
      retry: { initialInterval: '200ms' },
      steps: [{ id: 'long', task: work, input: { item: 0, ms: (SHUTDOWN_GRACE_SECONDS + 4) * 1000 } }],
    });
    const [first] = await waitFor('the step to run', async () => ((await runningAttempts(handle)).length > 0 ? runningAttempts(handle) : undefined));
    const stopping = workerWithPid(first!.pid)!;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited, stopping.logs()).toBe(0);
    await ensureWorkers();
    const outcome = await awaitOutcome(handle);
    expect(outcome.status, outcome.message).toBe('succeeded');
    const [record] = outcome.result!.steps;
    expect(record).toMatchObject({ status: 'succeeded', attempts: 2, lostAttempts: 1 });
    expectConsistent(record!);
    expect(record!.lost_attempts).toEqual([{ attempt: 1, reason: HANDED_BACK, last_heartbeat_ms: expect.any(Number) }]);
    expect(effects(handle, 'long').map((e) => `${e.attempt} ${e.event}`)).toEqual(['1 start', '2 start', '2 done']);
  });

  it('lets a step that SIGTERM finds running finish within the shutdown grace, on its first attempt', async () => {
    await ensureWorkers();
    const handle = await start({ name: 'graceful', steps: [{ id: 'short', task: work, input: { item: 0, ms: 1500 } }] });
    const [first] = await waitFor('the step to run', async () => ((await runningAttempts(handle)).length > 0 ? runningAttempts(handle) : undefined));
    const stopping = workerWithPid(first!.pid)!;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited, stopping.logs()).toBe(0);
    expect(stopping.logs()).toContain('"message":"shutdown requested: finishing in-flight steps"');
    await ensureWorkers();
    const outcome = await awaitOutcome(handle);
    expect(outcome.result!.steps[0]).toMatchObject({ status: 'succeeded', attempts: 1, lostAttempts: 0 });
  });

  it('fails a step lost more often than its maxLostAttempts, with a message naming the step, the count and the budget', async () => {
    await ensureWorkers();
    const handle = await start({
      name: 'fragile',
      retry: { initialInterval: '200ms', heartbeatTimeout: '3s' },
      steps: [{ id: 'fragile', task: work, input: { item: 0, ms: 60_000 }, maxRetries: 1, maxLostAttempts: 1 }],
    });
    // Each attempt is killed mid-run with the worker running it: attempt 1, then attempt 2 on the other worker.
    for (const attempt of [1, 2]) {
      await waitFor(`attempt ${attempt} to start the task`, () => (effects(handle, 'fragile').some((e) => e.attempt === attempt) ? true : undefined));
      const run = await waitFor(`attempt ${attempt} on a worker`, async () => (await runningAttempts(handle)).find((a) => a.attempt === attempt && workerWithPid(a.pid) !== undefined));
      await killWorker(workerWithPid(run.pid)!);
    }
    await ensureWorkers();
    const outcome = await awaitOutcome(handle);
    expect(outcome.status).toBe('failed');
    const [record] = outcome.result!.steps;
    expect(record).toMatchObject({ status: 'failed', attempts: 2, lostAttempts: 2 });
    expect(record!.execution).toBeUndefined();
    expect(record!.failure).toMatch(/^step "fragile" was lost 2 time\(s\), more than its maxLostAttempts of 1: those attempts ended without a result/);
    expect(outcome.message).toContain('failed at step "fragile" after 2 attempt(s), 2 of them lost: step "fragile" was lost 2 time(s)');
    // The task itself never failed, and never ran a third time.
    expect(effects(handle, 'fragile').map((e) => `${e.attempt} ${e.event}`)).toEqual(['1 start', '2 start']);
  });
});
