/**
 * Builds a Capsule worker: Capsule's workflows (and a user's, with `workflowsPath`) + the runTask activity on one
 * task queue, with bounded concurrency. The workflow bundle (webpack, several seconds) is cached on disk
 * (workflow-bundle.ts).
 */
import os from 'node:os';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { TaskRunner } from '../activities/index.js';
import type { WorkerTracing } from '../observability/index.js';
import { CapsulePlugin } from '../worker/plugin.js';
import { workflowBundle } from './workflow-bundle.js';

export interface CapsuleWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  sandbox: TaskRunner;
  /** Capsule's codecs and claim-check (openPayloadLayer): the same as the clients' that start the workflows. */
  dataConverter: DataConverter;
  /** Parallel steps on this worker (default: available cores). */
  maxConcurrentSteps?: number;
  /** Resolve allowedFiles here rather than in the submitting client's directory. */
  baseDir?: string;
  /** 0 forces a full replay on every workflow task (tests use it to exercise determinism). */
  maxCachedWorkflows?: number;
  /** How long in-flight steps may finish after a shutdown request before they are cancelled and handed back. */
  shutdownGraceTime?: string | number;
  workflowBundle?: WorkflowBundle;
  /** A user's workflows file, bundled with Capsule's (ignored when `workflowBundle` is given). */
  workflowsPath?: string;
  /** OpenTelemetry spans for workflows and activities (src/observability/tracing.ts); the bundle then includes its interceptors. */
  tracing?: WorkerTracing;
}

export async function createWorker(options: CapsuleWorkerOptions): Promise<Worker> {
  const tracing = options.tracing;
  // Bundled here, where the bundle is cached on disk (with tracing's workflow interceptors, which must be in it).
  const bundle = options.workflowBundle ?? (await workflowBundle({ ...(tracing === undefined ? {} : { interceptorModules: tracing.workflowModules }), ...(options.workflowsPath === undefined ? {} : { workflowsPath: options.workflowsPath }) }));
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: bundle,
    dataConverter: options.dataConverter,
    plugins: [new CapsulePlugin({ sandbox: options.sandbox, ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }) })],
    maxConcurrentActivityTaskExecutions: options.maxConcurrentSteps ?? os.availableParallelism(),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(tracing === undefined ? {} : { interceptors: tracing.interceptors, sinks: tracing.sinks }),
  });
}
