/**
 * A real `capsule worker` process with `--metrics` and `--health`, on the suite's dev server, scraped and probed the
 * way Prometheus and an orchestrator would: Capsule's metrics and the Temporal SDK's on one endpoint, named by
 * Prometheus conventions, counting what the runs did; readiness that follows polling and turns 503 on SIGTERM.
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickPort } from '../../src/client/dev-server.js';
import { awaitOutcome } from '../../src/client/outcome.js';
import { createHarness, type Harness } from '../temporal/helpers.js';
import { capsule, spawnCapsuleWorker, waitFor, type WorkerProcess } from '../temporal/processes.js';
import { parseExposition, type Exposition } from './prometheus.js';

const TASK = fileURLToPath(new URL('./fixtures/observed.ts', import.meta.url));
const step = (id: string, task: string, input?: unknown) => ({ id, task: `${TASK}#${task}`, ...(input === undefined ? {} : { input }) });

let harness: Harness;
let worker: WorkerProcess;
let metricsUrl: string;
let healthUrl: string;
let taskQueue: string;

beforeAll(async () => {
  harness = await createHarness();
  taskQueue = harness.queue('endpoints');
  const [metricsPort, healthPort] = [await pickPort(), await pickPort()];
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  healthUrl = `http://127.0.0.1:${healthPort}`;
  worker = await spawnCapsuleWorker(harness.address, taskQueue, path.dirname(TASK), ['--concurrency', '2', '--shutdown-grace', '20', '--metrics', `127.0.0.1:${metricsPort}`, '--health', `127.0.0.1:${healthPort}`]);
});

afterAll(async () => {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await harness?.close();
});

async function scrape(): Promise<Exposition> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

async function probe(route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${healthUrl}${route}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('capsule worker --metrics', () => {
  it("serves Capsule's sandbox metrics and the SDK's on one endpoint, counting what the runs did", async () => {
    const good = await harness.start(harness.writePipeline({ name: 'observed', steps: [step('ok', 'ok', { marker: 'm' }), step('denied', 'denied')] }), taskQueue);
    const bad = await harness.start(harness.writePipeline({ name: 'observed-fail', steps: [step('fails', 'fails')] }), taskQueue);
    expect((await awaitOutcome(good.handle)).status).toBe('succeeded');
    expect((await awaitOutcome(bad.handle)).status).toBe('failed');

    // Histograms and counters are exported as they are recorded; the gauges within a second.
    const m = await waitFor('the runs to show in the metrics', async () => {
      const scraped = await scrape();
      return scraped.sum('capsule_sandbox_runs_total') >= 4 && scraped.has('capsule_sandbox_threads') ? scraped : undefined;
    }, 30_000, 500);
    const js = { language: 'js' };
    expect(m.sum('capsule_sandbox_runs_total', { ...js, kind: 'task', outcome: 'success' })).toBe(2);
    expect(m.sum('capsule_sandbox_runs_total', { ...js, kind: 'subtask', outcome: 'success' })).toBe(1);
    expect(m.sum('capsule_sandbox_runs_total', { ...js, kind: 'task', outcome: 'task_error' })).toBe(1);
    expect(m.sum('capsule_sandbox_denials_total', { ...js, capability: 'file' })).toBe(1);
    // Every run's fuel, peak memory and duration, in buckets of their own.
    for (const histogram of ['capsule_sandbox_fuel_consumed', 'capsule_sandbox_memory_peak_bytes', 'capsule_sandbox_run_duration_seconds']) {
      expect(m.types.get(histogram), histogram).toBe('histogram');
      expect(m.sum(`${histogram}_count`), histogram).toBe(4);
      expect(m.sum(`${histogram}_sum`), histogram).toBeGreaterThan(0);
    }
    expect(m.samples.filter((s) => s.name === 'capsule_sandbox_memory_peak_bytes_bucket').map((s) => s.labels.le)).toContain(String(64 * 1024 * 1024));
    expect(m.sum('capsule_sandbox_threads')).toBeGreaterThanOrEqual(2);
    expect(m.has('capsule_sandbox_pool_queue_depth')).toBe(true);
    // The SDK's own: its workers, pollers and activities, on the same endpoint.
    expect(m.sum('temporal_worker_start_total', { task_queue: taskQueue })).toBeGreaterThan(0);
    expect(m.sum('temporal_num_pollers', { task_queue: taskQueue })).toBeGreaterThan(0);
    expect(m.sum('temporal_activity_execution_latency_seconds_count', { task_queue: taskQueue })).toBe(3);

    // Prometheus conventions: counters end in _total; durations are in seconds; no millisecond or unitless times.
    for (const [name, type] of m.types) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      expect(name, name).not.toMatch(/_(ms|milliseconds)(_|$)/);
      if (type === 'histogram' && name.includes('latency')) expect(name, name).toMatch(/_seconds$/);
    }
    for (const name of [...m.types.keys()].filter((n) => n.startsWith('capsule_'))) expect(name).toMatch(/^capsule_sandbox_[a-z_]+$/);
  });
});

describe('capsule worker --health', () => {
  it('answers liveness and readiness while polling, and turns unready (still alive) while draining on SIGTERM', async () => {
    expect(await probe('/livez')).toEqual({ status: 200, body: { status: 'alive', pid: worker.pid } });
    expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect((await probe('/nope')).status).toBe(404);
    expect((await fetch(`${healthUrl}/readyz`, { method: 'POST' })).status).toBe(405);

    // A step in flight when SIGTERM arrives: the worker drains it, unready meanwhile, then exits 0.
    const { handle } = await harness.start(harness.writePipeline({ name: 'drain', steps: [step('slow', 'slow', 4000)] }), taskQueue);
    await waitFor('the step to start', async () => ((await handle.describe()).raw.pendingActivities?.some((a) => a.lastStartedTime) ? true : undefined));
    worker.child.kill('SIGTERM');
    await waitFor('readiness to turn 503', async () => ((await probe('/readyz')).status === 503 ? true : undefined), 10_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}\n${worker.logs()}`);
    });
    expect(await probe('/readyz')).toEqual({ status: 503, body: { status: 'not ready', reason: 'draining: a shutdown was requested' } });
    expect((await probe('/livez')).status).toBe(200);
    expect(await worker.exited, worker.logs()).toBe(0);
    // The step finished within the grace; the workflow task that records it needs a worker.
    const successor = await harness.startWorker(taskQueue);
    try {
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.steps[0]).toMatchObject({ attempts: 1, lostAttempts: 0 });
    } finally {
      await successor.stop();
    }
  });
});

describe('capsule worker endpoint errors', () => {
  it('refuses a malformed address, naming the flag or variable', async () => {
    const flag = await capsule(['worker', '--metrics', 'localhost'], path.dirname(TASK), { TEMPORAL_ADDRESS: harness.address });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--metrics: got "localhost"; expected host:port such as "127.0.0.1:9464"');
    const variable = await capsule(['worker'], path.dirname(TASK), { TEMPORAL_ADDRESS: harness.address, CAPSULE_HEALTH_ADDRESS: '127.0.0.1:99999' });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain('environment variable CAPSULE_HEALTH_ADDRESS: got "127.0.0.1:99999"');
  });

  it('exits 2 when a port is taken, before polling', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      for (const flag of ['--metrics', '--health']) {
        const result = await capsule(['worker', flag, `127.0.0.1:${port}`], path.dirname(TASK), { TEMPORAL_ADDRESS: harness.address, CAPSULE_TASK_QUEUE: harness.queue('taken') });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(/cannot serve the worker's metrics or health endpoint: .*(in use|EADDRINUSE)/i);
      }
    } finally {
      taken.close();
    }
  });
});
