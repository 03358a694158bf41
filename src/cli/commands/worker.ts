/**
 * `capsule worker`: a production worker on the configured server (or the `capsule dev` server of this directory).
 * Runs until SIGINT/SIGTERM, then shuts down gracefully: in-flight steps get the grace time to finish, after which
 * they are cancelled and handed back to the server for another worker.
 */
import os from 'node:os';
import { resolveConnectionConfig } from '../../client/config.js';
import { connectWorker } from '../../client/connect.js';
import { readDevServerState } from '../../client/dev-state.js';
import { processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { installRuntime } from '../../client/runtime.js';
import { createCapsuleWorker } from '../../client/worker.js';
import { openPayloadLayer, type PayloadLayer } from '../../payloads/data-converter.js';
import { resolvePayloadSettings } from '../../payloads/settings.js';
import { Sandbox } from '../../sandbox/index.js';

export interface WorkerOptions {
  taskQueue?: string;
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
  try {
    config = resolveConnectionConfig(io.cwd, io.env);
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
  installRuntime('INFO');
  const sandbox = await Sandbox.create();
  const connection = await connectWorker(config, address);
  const taskQueue = options.taskQueue ?? config.taskQueue;
  const w = await createCapsuleWorker({
    connection,
    namespace: config.namespace,
    taskQueue,
    sandbox,
    dataConverter: payloads.dataConverter,
    maxConcurrentSteps: options.concurrency ?? os.availableParallelism(),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
    shutdownGraceTime: `${options.graceSeconds ?? 30}s`,
  });
  const stop = options.shutdown ?? new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  void stop.then(() => {
    io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'shutdown requested: finishing in-flight steps' }));
    if (w.getState() === 'RUNNING') w.shutdown();
  });
  const blobs = { blobStore: payloads.store.location, encryptionKey: payloads.settings.keyring?.activeId ?? null };
  io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'worker started', address, namespace: config.namespace, taskQueue, ...blobs }));
  try {
    await w.run();
  } finally {
    await connection.close();
    await sandbox.close();
    await payloads.close();
  }
  io.err(JSON.stringify({ time: new Date().toISOString(), level: 'INFO', message: 'worker stopped' }));
  return 0;
}
