/**
 * Shared set-up for the Temporal tests: a client on the suite's dev server, a real Sandbox, real workers on a
 * unique task queue per test, pipelines written to temp files, and a replay of every history a file produced.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { inject } from 'vitest';
import { installRuntime } from '../../src/client/runtime.js';
import { openPayloadLayer, type PayloadLayer } from '../../src/payloads/data-converter.js';
import { resolvePayloadSettings, type PayloadSettings } from '../../src/payloads/settings.js';
import { createWorker } from '../../src/client/worker.js';
import { workflowBundle } from '../../src/client/workflow-bundle.js';
import { awaitOutcome, type RunOutcome } from '../../src/client/outcome.js';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { stepEnvelopes } from '../../src/client/step-envelopes.js';
import type { PipelineInput, RunTaskResult } from '../../src/workflows/shared.js';

export const TASKS = fileURLToPath(new URL('./fixtures/tasks/', import.meta.url));

export interface Harness {
  address: string;
  client: Client;
  /** Codecs, claim-check and the blob store (a temp directory unless the settings name another) of client and workers. */
  payloads: PayloadLayer;
  sandbox: Sandbox;
  bundle: WorkflowBundle;
  /** A fresh task queue name. */
  queue(label: string): string;
  /**
   * A real worker on `taskQueue` until stop(). It replays every workflow task in full (no cache) to exercise
   * determinism, unless `cached` (long workflows, where full replays would make the test quadratic).
   */
  startWorker(taskQueue: string, address?: string, options?: { cached?: boolean }): Promise<{ stop(): Promise<void> }>;
  /** Writes `definition` as YAML-compatible JSON in a temp dir; returns the file. */
  writePipeline(definition: object): string;
  /** Validates, bundles and starts a pipeline; records its id for the replay check. */
  start(file: string, taskQueue: string, options?: { input?: unknown; baseDir?: string; client?: Client; record?: boolean }): Promise<{ handle: WorkflowHandle; input: PipelineInput }>;
  /** start() + a worker + the outcome. */
  run(file: string, options?: { input?: unknown; baseDir?: string }): Promise<RunOutcome & { workflowId: string }>;
  history(workflowId: string): Promise<temporal.api.history.v1.IHistory>;
  /** The full envelopes of an outcome's steps, read back from history (as `capsule result --json` does). */
  envelopes(outcome: RunOutcome): Promise<Map<string, RunTaskResult>>;
  /** Adds a workflow started elsewhere (e.g. by a `capsule run` subprocess) to the replay check. */
  record(workflowId: string): void;
  /** Replays every recorded workflow's history against the current workflow code. */
  replayAll(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Payload settings to change from the defaults (the store defaults to a temp directory). */
  payloads?: Partial<PayloadSettings>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const address = inject('temporalAddress');
  installRuntime('ERROR');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-temporal-'));
  // Worker processes a test spawns (crash tests, `capsule worker`) inherit the store through the environment.
  process.env.CAPSULE_BLOB_STORE = path.join(dir, 'blobs');
  const payloads = openPayloadLayer({ ...resolvePayloadSettings(dir), ...options.payloads });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter: payloads.dataConverter });
  const sandbox = await Sandbox.create({ poolSize: 2 });
  const bundle = await workflowBundle();
  const recorded: string[] = [];
  let counter = 0;

  const harness: Harness = {
    address,
    client,
    payloads,
    sandbox,
    bundle,
    queue: (label) => `test-${label}-${process.pid}-${++counter}`,
    async startWorker(taskQueue, at = address, options = {}) {
      const native = await NativeConnection.connect({ address: at });
      const cache = options.cached ? {} : { maxCachedWorkflows: 0 };
      const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, sandbox, dataConverter: payloads.dataConverter, workflowBundle: bundle, shutdownGraceTime: '1s', ...cache });
      const running = worker.run();
      return {
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
          await native.close();
        },
      };
    },
    writePipeline(definition) {
      const file = path.join(dir, `pipeline-${++counter}.json`);
      writeFileSync(file, JSON.stringify(definition, null, 2));
      return file;
    },
    async start(file, taskQueue, options = {}) {
      const input = await preparePipeline({
        file,
        cwd: options.baseDir ?? dir,
        describer: sandbox,
        ...(options.input === undefined ? {} : { inputJson: JSON.stringify(options.input) }),
      });
      const handle = await startPipeline(options.client ?? client, input, { taskQueue, workflowId: `${input.name}-${taskQueue}` });
      if (options.record !== false) recorded.push(handle.workflowId);
      return { handle, input };
    },
    async run(file, options = {}) {
      const taskQueue = harness.queue('run');
      const worker = await harness.startWorker(taskQueue);
      try {
        const { handle } = await harness.start(file, taskQueue, options);
        return await awaitOutcome(handle);
      } finally {
        await worker.stop();
      }
    },
    record(workflowId) {
      recorded.push(workflowId);
    },
    async history(workflowId) {
      return client.workflow.getHandle(workflowId).fetchHistory();
    },
    envelopes(outcome) {
      return stepEnvelopes(client.workflow, outcome.workflowId, outcome.result?.steps ?? []);
    },
    async replayAll() {
      const histories = await Promise.all(recorded.map(async (workflowId) => ({ workflowId, history: await harness.history(workflowId) })));
      let replayed = 0;
      for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'capsule-replay', dataConverter: payloads.dataConverter }, histories)) {
        if (result.error) throw new Error(`replay of ${result.workflowId} failed: ${String(result.error)}`);
        replayed++;
      }
      return replayed;
    },
    async close() {
      await sandbox.close();
      await connection.close();
      await payloads.close();
    },
  };
  return harness;
}

/** The step id (the activity id) of every ActivityTaskScheduled event, with event ids of its start/completion. */
export function activityTimeline(history: temporal.api.history.v1.IHistory) {
  const scheduled = new Map<string, { stepId: string; scheduledId: number; startedAttempt?: number; closedId?: number; closed?: string }>();
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(id, { stepId: s.activityId ?? '', scheduledId: Number(id) });
    const started = event.activityTaskStartedEventAttributes;
    if (started) scheduled.get(String(started.scheduledEventId))!.startedAttempt = started.attempt ?? undefined;
    for (const [kind, attrs] of [
      ['completed', event.activityTaskCompletedEventAttributes],
      ['failed', event.activityTaskFailedEventAttributes],
      ['timedOut', event.activityTaskTimedOutEventAttributes],
      ['cancelled', event.activityTaskCanceledEventAttributes],
    ] as const) {
      if (attrs) {
        const entry = scheduled.get(String(attrs.scheduledEventId))!;
        entry.closedId = Number(id);
        entry.closed = kind;
      }
    }
  }
  return [...scheduled.values()];
}
