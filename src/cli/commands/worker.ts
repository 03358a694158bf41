/**
 * `capsule worker`: a production worker on the configured server (or the `capsule dev` server of this directory).
 * Runs until SIGINT/SIGTERM, then shuts down gracefully: in-flight steps get the grace time to finish, after which
 * they are cancelled and handed back to the server for another worker. Metrics, traces and health probes come from
 * src/observability (`--metrics`, `--otlp-endpoint` or OTEL_*, `--health`).
 */
import os from 'node:os';
import path from 'node:path';
import { resolveConnectionConfig } from '../../client/config.js';
import { connectWorker } from '../../client/connect.js';
import { readDevServerState } from '../../client/dev-state.js';
import { processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { installRuntime } from '../../client/runtime.js';
import { createWorker } from '../../client/worker.js';
import { checkWorkflowsFile } from '../../client/workflow-bundle.js';
import { openPayloadLayer, type PayloadLayer } from '../../payloads/data-converter.js';
import { resolvePayloadSettings } from '../../payloads/settings.js';
import { prepareObservability, resolveObservability, type ObservabilityFlags } from '../../observability/index.js';
import { Sandbox } from '../../sandbox/index.js';
import type { NativeConnection, Worker } from '@temporalio/worker';

export interface WorkerOptions extends ObservabilityFlags {
  taskQueue?: string;
  /** A workflows file of the user's, bundled with Capsule's workflows. */
  workflows?: string;
  /** Steps run in parallel on this worker (default: available cores). */
  concurrency?: number;
  /** Resolve task allowedFiles here instead of the submitting client's directory. */
  baseDir?: string;
  /** Seconds in-flight steps may finish after a shutdown signal. */
  graceSeconds?: number;
  io?: CommandIo;
  /** Resolves to request shutdown (default: SIGINT/SIGTERM). */
  shutdown?: Promise<void>;
}

export async function worker(options: WorkerOptions): Promise<number> {
  const io = options.io ?? processIo();
  let config;
  let payloads: PayloadLayer;
  let observability;
  let workflowsPath: string | undefined;
  try {
    workflowsPath = options.workflows === undefined ? undefined : checkWorkflowsFile(path.resolve(io.cwd, options.workflows));
    config = resolveConnectionConfig(io.cwd, io.env);
    observability = resolveObservability(options, io.env);
    payloads = openPayloadLayer(resolvePayloadSettings(io.cwd, io.env));
  } catch (error) {
    return reportUserError(io, error);
  }
  const address = config.address ?? readDevServerState(io.cwd)?.address;
  if (address === undefined) {
    await payloads.close();
    io.err('error: no Temporal server: set TEMPORAL_ADDRESS (or [temporal].address in capsule.toml), or start one here with: capsule dev');
    return 2;
  }
  let telemetry;
  try {
    const prepared = await prepareObservability(observability);
    try {
      telemetry = prepared.open(installRuntime('INFO', { ...(observability.metrics ? { metricsAddress: observability.metrics.text } : {}) }).metricMeter);
    } catch (error) {
      await prepared.health?.close();
      throw error;
    }
  } catch (error) {
    await payloads.close();
    io.err(`error: cannot serve the worker's metrics or health endpoint: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const sandbox = await Sandbox.create({ ...(telemetry.observer ? { observer: telemetry.observer } : {}) });
  const taskQueue = options.taskQueue ?? config.taskQueue;
  let connection: NativeConnection | undefined;
  let w: Worker;
  try {
    connection = await connectWorker(config, address);
    w = await createWorker({
      connection,
      namespace: config.namespace,
      taskQueue,
      sandbox,
      dataConverter: payloads.dataConverter,
      maxConcurrentSteps: options.concurrency ?? os.availableParallelism(),
      ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
      ...(workflowsPath === undefined ? {} : { workflowsPath }),
      shutdownGraceTime: `${options.graceSeconds ?? 30}s`,
      ...(telemetry.tracing ? { tracing: telemetry.tracing } : {}),
    });
  } catch (error) {
    // An unreachable server or a workflows file that does not bundle: nothing of the worker stays open.
    await connection?.close();
    await sandbox.close();
    await payloads.close();
    await telemetry.close();
    return reportUserError(io, error);
  }
  telemetry.serve({ worker: w, connection, pool: () => sandbox.stats() });
  const stop = options.shutdown ?? new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  void stop.then(() => {
    io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'shutdown requested: finishing in-flight steps' }));
    telemetry.drain();
    if (w.getState() === 'RUNNING') w.shutdown();
  });
  const blobs = { blobStore: payloads.store.location, encryptionKey: payloads.settings.keyring?.activeId ?? null };
  const endpoints = {
    metrics: telemetry.metricsAddress === undefined ? null : `http://${telemetry.metricsAddress}/metrics`,
    health: telemetry.healthAddress === undefined ? null : `http://${telemetry.healthAddress}/readyz`,
    traces: observability.otlp === undefined ? null : observability.otlp.url,
  };
  io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'worker started', address, namespace: config.namespace, taskQueue, ...blobs, ...endpoints }));
  try {
    await w.run();
  } finally {
    await connection.close();
    await sandbox.close();
    await payloads.close();
    await telemetry.close();
  }
  io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'worker stopped' }));
  return 0;
}
