/**
 * `createCapsuleWorker`: a Capsule worker in one call, for the common case. The server, namespace and task queue
 * are resolved as the CLI resolves them (TEMPORAL_* / temporal.toml / capsule.toml, else the `capsule dev` serving
 * `cwd`); the worker runs Capsule's workflows and yours (`workflowsPath`, bundled once and cached) and closes what
 * it opened (its connection, its sandbox pool) when it stops running.
 *
 *   const worker = await createCapsuleWorker({ workflowsPath: './src/workflows.ts' });
 *   await worker.run();   // until worker.shutdown() (or SIGINT/SIGTERM)
 */
import os from 'node:os';
import path from 'node:path';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { resolveConnectionConfig } from '../client/config.js';
import { connectWorker } from '../client/connect.js';
import { readDevServerState } from '../client/dev-state.js';
import { ConnectionConfigError } from '../client/errors.js';
import { workflowBundle } from '../client/workflow-bundle.js';
import { CapsulePlugin } from './plugin.js';

export interface CreateCapsuleWorkerOptions {
  /** Your workflows file (.ts or .js), run next to Capsule's own. Default: Capsule's workflows only. */
  workflowsPath?: string;
  /** Default: CAPSULE_TASK_QUEUE, capsule.toml [temporal].task_queue, else "capsule" (where `capsule run` submits). */
  taskQueue?: string;
  /** A connection of your own (it stays open). Default: one to the resolved server, closed when the worker stops. */
  connection?: NativeConnection;
  /** Where capsule.toml, .env and .capsule/ are read. Default: the working directory. */
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Steps run in parallel. Default: the number of cores. */
  maxConcurrentSteps?: number;
  /** Resolve tasks' allowedFiles here instead of in the submitting client's directory. */
  baseDir?: string;
}

export async function createCapsuleWorker(options: CreateCapsuleWorkerOptions = {}): Promise<Worker> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const config = resolveConnectionConfig(cwd, env);
  const address = config.address ?? readDevServerState(cwd)?.address;
  if (options.connection === undefined && address === undefined) {
    throw new ConnectionConfigError('no Temporal server: set TEMPORAL_ADDRESS (or [temporal].address in capsule.toml), or start one here with: capsule dev');
  }
  // The bundle first: a bad workflows file fails before any connection is opened.
  const bundle = await workflowBundle(options.workflowsPath === undefined ? {} : { workflowsPath: path.resolve(cwd, options.workflowsPath) });
  const connection = options.connection ?? (await connectWorker(config, address!));
  // The plugin opens Capsule's data converter for `cwd` and closes it, with a connection opened here, when the worker stops.
  const plugin = new CapsulePlugin({ cwd, env, ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }), closeWhenDone: options.connection === undefined ? [connection] : [] });
  try {
    return await Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: options.taskQueue ?? config.taskQueue,
      workflowBundle: bundle,
      maxConcurrentActivityTaskExecutions: options.maxConcurrentSteps ?? os.availableParallelism(),
      plugins: [plugin],
    });
  } catch (error) {
    await plugin.close();
    throw error;
  }
}
