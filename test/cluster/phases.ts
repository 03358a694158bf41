/**
 * The cluster test's phases: a load of 1,000 three-step pipelines, a fan-out that loses a worker to kill -9, and a
 * pipeline that outlives a kill -9 and restart of the Temporal server. Each checks its own outcome and returns
 * its figures; side effects are counted from the lines tasks append (test/temporal/fixtures/tasks/effects.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { awaitOutcome } from '../../src/client/outcome.js';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { StepRecord } from '../../src/workflows/shared.js';
import { percentile } from '../../bench/stats.js';
import { TASKS } from '../temporal/helpers.js';
import { descendants, running, waitFor } from '../temporal/processes.js';
import { parseExposition } from '../observability/prometheus.js';
import { alive, type ClusterWorker } from './workers.js';

export interface PhaseContext {
  client: Client;
  sandbox: Sandbox;
  /** Pipelines, their baseDir, and out/ (the tasks' read-write directory). */
  dir: string;
  taskQueue: string;
  workers: ClusterWorker[];
  log(line: string): void;
}

const STEPS_TASK = path.join(TASKS, 'steps.ts');
const EFFECTS_TASK = path.join(TASKS, 'effects.ts');
// A CommonJS package: node's ESM loader (this script runs outside vitest) only gives its default export.
const { PENDING_ACTIVITY_STATE_STARTED } = proto.temporal.api.enums.v1.PendingActivityState;

let files = 0;
async function prepare(ctx: PhaseContext, definition: object, input?: unknown) {
  const file = path.join(ctx.dir, `pipeline-${++files}.json`);
  writeFileSync(file, JSON.stringify(definition));
  return preparePipeline({ file, cwd: ctx.dir, describer: ctx.sandbox, ...(input === undefined ? {} : { inputJson: JSON.stringify(input) }) });
}

export interface LoadFigures {
  pipelines: number;
  submitSeconds: number;
  /** Starts the server did not answer within the client's deadline, sent again. */
  startRetries: number;
  wallSeconds: number;
  pipelinesPerSecond: number;
  stepsPerSecond: number;
  p50Seconds: number;
  p95Seconds: number;
  peakRssMb: number[];
  /** Sandbox runs the workers' metrics counted (successful task runs, summed over the workers). */
  countedRuns: number;
}

/** `count` pipelines of three chained steps, submitted at once; done when visibility shows every one COMPLETED. */
export async function loadPhase(ctx: PhaseContext, count: number, label: string): Promise<LoadFigures> {
  const step = (id: string, input: string) => ({ id, task: `${STEPS_TASK}#main`, input });
  const prepared = await prepare(ctx, { name: `load-${label}`, steps: [step('a', '{{ input }}'), step('b', '{{ steps.a.output }}'), step('c', '{{ steps.b.output }}')] }, { load: label });
  const started = Date.now();
  const sampler = setInterval(() => ctx.workers.forEach((w) => w.sample()), 1000);
  try {
    let startRetries = 0;
    // A start the server did not answer in time is tried again: with a fixed id and USE_EXISTING it cannot start twice.
    const start = async (i: number) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await startPipeline(ctx.client, prepared, { taskQueue: ctx.taskQueue, workflowId: `load-${label}-${i}` });
        } catch (error) {
          if (attempt >= 5 || !transient(error)) throw error;
          startRetries++;
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        }
      }
    };
    await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
    const submitSeconds = (Date.now() - started) / 1000;
    ctx.log(`${count} pipelines submitted in ${submitSeconds.toFixed(1)} s${startRetries > 0 ? ` (${startRetries} start(s) timed out and were sent again)` : ''}`);
    const base = `TaskQueue = "${ctx.taskQueue}" AND WorkflowType = "pipeline" AND WorkflowId STARTS_WITH "load-${label}-"`;
    let lastReport = 0;
    await waitFor(`${count} pipelines COMPLETED in visibility`, async () => {
      const failedQuery = `${base} AND ExecutionStatus != "Running" AND ExecutionStatus != "Completed"`;
      const failed = (await ctx.client.workflow.count(failedQuery)).count;
      if (failed > 0) throw new Error(`${failed} pipeline(s) ended without completing (visibility: ${failedQuery})`);
      const completed = (await ctx.client.workflow.count(`${base} AND ExecutionStatus = "Completed"`)).count;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        ctx.log(`${completed}/${count} completed (${Math.round((Date.now() - started) / 1000)} s)`);
      }
      return completed === count ? true : undefined;
    }, 30 * 60_000, 1000);
    // Capsule's own search attributes (registered by the compose file's script) agree: every run recorded itself.
    const recorded = (await ctx.client.workflow.count(`${base} AND CapsulePipeline = "load-${label}" AND CapsuleStatus = "Completed"`)).count;
    if (recorded !== count) throw new Error(`visibility: ${recorded} of ${count} pipelines have CapsulePipeline "load-${label}" and CapsuleStatus "Completed"`);
    const latencies: number[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for await (const execution of ctx.client.workflow.list({ query: base })) {
      const start = execution.startTime.getTime();
      const close = execution.closeTime?.getTime() ?? Number.NaN;
      latencies.push((close - start) / 1000);
      first = Math.min(first, start);
      last = Math.max(last, close);
    }
    if (latencies.length !== count || latencies.some((l) => !Number.isFinite(l))) throw new Error(`visibility listed ${latencies.length} closed pipelines, expected ${count}`);
    const wallSeconds = (last - first) / 1000;
    const countedRuns = await countRuns(ctx.workers);
    return {
      pipelines: count,
      submitSeconds,
      startRetries,
      wallSeconds,
      pipelinesPerSecond: count / wallSeconds,
      stepsPerSecond: (3 * count) / wallSeconds,
      p50Seconds: percentile(latencies, 50),
      p95Seconds: percentile(latencies, 95),
      peakRssMb: ctx.workers.map((w) => Math.round(w.peakRssBytes / 1024 / 1024)),
      countedRuns,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** gRPC DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8), UNAVAILABLE (14): the server was too busy, not wrong. */
function transient(error: unknown): boolean {
  const code = error instanceof Error && typeof (error.cause as { code?: unknown } | undefined)?.code === 'number' ? (error.cause as { code: number }).code : undefined;
  return code === 4 || code === 8 || code === 14;
}

/** Successful task runs counted by the live workers' metrics (Prometheus endpoints of `capsule worker --metrics`). */
async function countRuns(workers: ClusterWorker[]): Promise<number> {
  let total = 0;
  for (const worker of workers.filter(alive)) {
    const response = await fetch(worker.metricsUrl);
    total += parseExposition(await response.text()).sum('capsule_sandbox_runs_total', { outcome: 'success', kind: 'task' });
  }
  return total;
}

interface Effect { step: string; attempt: number; event: 'start' | 'done' }

/** Lines the effects task appended for `workflowId`: one per run that started, one per run that returned. */
function effects(dir: string, workflowId: string): Effect[] {
  const file = path.join(dir, 'out', 'effects.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').flatMap((line) => {
    const [id, step, attempt, event] = line.split(' ');
    return id === workflowId ? [{ step: step!, attempt: Number(attempt), event: event as Effect['event'] }] : [];
  });
}

/** Attempts running now, by the pid of their worker (its identity is "pid@host"). */
async function runningByPid(handle: WorkflowHandle): Promise<Map<number, number>> {
  const { raw } = await handle.describe();
  const byPid = new Map<number, number>();
  for (const a of raw.pendingActivities ?? []) {
    if (a.state !== PENDING_ACTIVITY_STATE_STARTED) continue;
    const pid = Number((a.lastWorkerIdentity ?? '').split('@')[0]);
    byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  return byPid;
}

/** Each step's side effects: its final attempt ran once to its end, and every earlier run was a recorded lost attempt. */
function checkEffects(dir: string, workflowId: string, records: StepRecord[]): { runs: number; lostRuns: number } {
  let runs = 0;
  let lostRuns = 0;
  for (const record of records) {
    const mine = effects(dir, workflowId).filter((e) => e.step === record.id);
    const starts = mine.filter((e) => e.event === 'start');
    runs += starts.length;
    const done = mine.filter((e) => e.event === 'done');
    if (done.length !== 1 || done[0]!.attempt !== record.attempts) throw new Error(`step ${record.id}: expected one completed run by attempt ${record.attempts}, found ${JSON.stringify(done)}`);
    const lost = (record.lost_attempts ?? []).map((a) => a.attempt);
    for (const run of starts.filter((e) => e.attempt !== record.attempts)) {
      if (!lost.includes(run.attempt)) throw new Error(`step ${record.id}: attempt ${run.attempt} ran but is not recorded as lost (lost: ${JSON.stringify(record.lost_attempts ?? [])})`);
      lostRuns++;
    }
    if (starts.some((e) => e.attempt > record.attempts)) throw new Error(`step ${record.id}: an attempt ran after the one that completed it`);
  }
  return { runs, lostRuns };
}

export interface FanOutFigures { items: number; killedPid: number; itemsOnVictim: number; lostAttempts: number; extraRuns: number; seconds: number }

/** A 40-item fan-out of ~2 s steps; kill -9 of a worker running some of them; the fan-out finishes. */
export async function fanOutKillPhase(ctx: PhaseContext, items: number): Promise<FanOutFigures> {
  const prepared = await prepare(ctx, {
    name: 'fanout-kill',
    retry: { initialInterval: '200ms', maximumInterval: '1s', heartbeatTimeout: '10s' },
    steps: [{ id: 'work', task: `${EFFECTS_TASK}#work`, forEach: '{{ input.items }}', input: { item: '{{ item }}', ms: 2000 } }],
  }, { items: Array.from({ length: items }, (_, i) => i) });
  const started = Date.now();
  const handle = await startPipeline(ctx.client, prepared, { taskQueue: ctx.taskQueue, workflowId: 'fanout-kill' });
  const live = ctx.workers.filter(alive);
  const [victim, itemsOnVictim] = await waitFor('items running on every worker', async () => {
    const byPid = await runningByPid(handle);
    return live.every((w) => byPid.has(w.pid)) ? ([live[0]!, byPid.get(live[0]!.pid)!] as const) : undefined;
  }, 120_000, 100);
  // Items are ~2 s long: a moment later the victim's guests are running their tasks (not still being prepared).
  await new Promise((resolve) => setTimeout(resolve, 700));
  const tree = descendants(victim.pid);
  ctx.log(`kill -9 worker ${victim.pid} while it runs ${itemsOnVictim} item(s)`);
  process.kill(victim.pid, 'SIGKILL');
  await victim.child.exited;
  await waitFor(`processes of the killed worker ${victim.pid} to end`, () => (tree.some(running) ? undefined : true), 15_000);
  const outcome = await awaitOutcome(handle);
  if (outcome.status !== 'succeeded') throw new Error(`the fan-out ended ${outcome.status}: ${outcome.message}`);
  const records = outcome.result!.steps;
  if (records.length !== items || records.some((r) => r.status !== 'succeeded')) throw new Error(`expected ${items} succeeded items, got ${records.map((r) => r.status).join(',')}`);
  const lostAttempts = outcome.result!.totals.lost_attempts;
  if (lostAttempts < itemsOnVictim) throw new Error(`${itemsOnVictim} item(s) ran on the killed worker but only ${lostAttempts} lost attempt(s) were recorded`);
  if (outcome.result!.totals.retries !== 0) throw new Error(`${outcome.result!.totals.retries} attempt(s) were counted as the task failing`);
  const { lostRuns } = checkEffects(ctx.dir, handle.workflowId, records);
  return { items, killedPid: victim.pid, itemsOnVictim, lostAttempts, extraRuns: lostRuns, seconds: (Date.now() - started) / 1000 };
}

export interface RestartFigures { downSeconds: number; seconds: number }

/** Three chained ~3 s steps; the server is killed (-9) while the second runs and started again; nothing repeats. */
export async function serverRestartPhase(ctx: PhaseContext, restart: () => Promise<number>): Promise<RestartFigures> {
  const work = (id: string, item: number, after?: string) => ({ id, task: `${EFFECTS_TASK}#work`, input: { item, ms: 3000, ...(after === undefined ? {} : { after: `{{ steps.${after}.output }}` }) } });
  const prepared = await prepare(ctx, { name: 'server-restart', steps: [work('a', 0), work('b', 1, 'a'), work('c', 2, 'b')] });
  const started = Date.now();
  const handle = await startPipeline(ctx.client, prepared, { taskQueue: ctx.taskQueue, workflowId: 'server-restart' });
  await waitFor('step b to start', () => (effects(ctx.dir, handle.workflowId).some((e) => e.step === 'b' && e.event === 'start') ? true : undefined), 120_000, 100);
  const downSeconds = await restart();
  ctx.log(`server was down ${downSeconds.toFixed(1)} s`);
  const outcome = await awaitOutcome(ctx.client.workflow.getHandle(handle.workflowId));
  if (outcome.status !== 'succeeded') throw new Error(`the pipeline ended ${outcome.status}: ${outcome.message}`);
  for (const record of outcome.result!.steps) {
    const runs = effects(ctx.dir, handle.workflowId).filter((e) => e.step === record.id).map((e) => `${e.attempt} ${e.event}`);
    if (record.attempts !== 1 || record.lostAttempts !== 0 || runs.join(',') !== '1 start,1 done') {
      throw new Error(`step ${record.id} repeated: attempts ${record.attempts}, lost ${record.lostAttempts}, runs ${runs.join(', ')}`);
    }
  }
  return { downSeconds, seconds: (Date.now() - started) / 1000 };
}
