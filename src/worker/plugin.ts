/**
 * `CapsulePlugin`: Capsule on a worker its user creates, through Temporal's plugin interface (@temporalio/plugin):
 *
 *   const worker = await Worker.create({ connection, taskQueue, workflowsPath: './src/workflows.ts', plugins: [new CapsulePlugin()] });
 *
 * It adds the runTask activity (each step in a fresh sandbox), makes the worker's workflowsPath an entry that
 * exports its workflows together with Capsule's (`pipeline`, reviewLoop, agentLoop, codingAgent: client/workflow-bundle.ts;
 * Worker.create bundles it, or pass `workflowBundle: await workflowBundle({ workflowsPath })`, cached) and gives the worker
 * Capsule's data converter (codecs and claim-check from capsule.toml [payloads], as every Capsule client has).
 * What it creates itself (the sandbox, the blob store's connections) it closes when the worker stops running.
 */
import type { DataConverter } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, ReplayWorkerOptions, Worker, WorkerOptions, WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type TaskRunner } from '../activities/index.js';
import { checkWorkflowsFile, combinedEntry, withWorkflowApi, WORKFLOWS_ENTRY } from '../client/workflow-bundle.js';
import { openPayloadLayer, type PayloadLayer } from '../payloads/data-converter.js';
import { resolvePayloadSettings } from '../payloads/settings.js';
import { Sandbox, type Envelope, type RunRequest } from '../sandbox/index.js';

export interface CapsulePluginOptions {
  /** Runs the steps. Default: a sandbox pool the plugin creates on the first step and closes when the worker stops. */
  sandbox?: TaskRunner;
  /**
   * Payload codecs and claim-check; the clients that start workflows must use the same. Default: the worker's
   * data converter if it has one, else Capsule's for `cwd` (capsule.toml [payloads], CAPSULE_* variables).
   */
  dataConverter?: DataConverter;
  /** Resolve tasks' allowedFiles here instead of in the submitting client's directory. */
  baseDir?: string;
  /** Where capsule.toml and .env are read. Default: the working directory. */
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Closed, in order, once the worker stops running (what the caller opened for this worker, such as its connection). */
  closeWhenDone?: Array<{ close(): Promise<void> | void }>;
}

/**
 * The most time between two heartbeats the SDK sends for a running step (it sends at most one per 80 % of the
 * step's heartbeat timeout, and no less often than this). It bounds how late a cancellation reaches a running
 * guest (the server answers a heartbeat with it) and leaves the heartbeat timeout's remaining 25 s (by default) as
 * slack for a busy machine.
 */
const MAX_HEARTBEAT_THROTTLE = '5s';

export class CapsulePlugin extends SimplePlugin {
  private readonly capsule: CapsulePluginOptions;
  /** The sandbox pool the plugin made (no `sandbox` option), once the first step asked for it. */
  private ownSandbox: Promise<Sandbox> | undefined;
  private payloads: PayloadLayer | undefined;

  constructor(options: CapsulePluginOptions = {}) {
    super({ name: 'capsule' });
    this.capsule = { ...options };
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    const { workflowsPath, workflowBundle: given, ...rest } = super.configureWorker(options);
    const sandbox = this.capsule.sandbox ?? this.lazySandbox();
    return {
      ...rest,
      ...workflowsOf(workflowsPath, given),
      activities: { ...rest.activities, ...createActivities({ sandbox, ...(this.capsule.baseDir === undefined ? {} : { baseDir: this.capsule.baseDir }), ...(this.capsule.env === undefined ? {} : { env: this.capsule.env }) }) },
      dataConverter: this.dataConverter(rest.dataConverter),
      maxHeartbeatThrottleInterval: rest.maxHeartbeatThrottleInterval ?? MAX_HEARTBEAT_THROTTLE,
    };
  }

  /** A replay worker (Worker.runReplayHistory in CI) gets the same workflows and data converter; close() closes the latter. */
  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    const { workflowsPath, workflowBundle: given, ...rest } = super.configureReplayWorker(options);
    return { ...rest, ...workflowsOf(workflowsPath, given), dataConverter: this.dataConverter(rest.dataConverter) };
  }

  /** A user's workflows import `capsule/workflow`: resolved to this Capsule's module (one copy in the bundle). */
  override configureBundler(options: BundleOptions): BundleOptions {
    return { ...super.configureBundler(options), webpackConfigHook: withWorkflowApi(options.webpackConfigHook) };
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    try {
      await super.runWorker(worker, next);
    } finally {
      await this.close();
    }
  }

  /** Closes what the plugin opened (also done when the worker stops running): for a worker created but never run. */
  async close(): Promise<void> {
    const sandbox = this.ownSandbox;
    this.ownSandbox = undefined;
    if (sandbox !== undefined) await (await sandbox.catch(() => undefined))?.close();
    await this.payloads?.close();
    this.payloads = undefined;
    for (const resource of this.capsule.closeWhenDone ?? []) await resource.close();
    this.capsule.closeWhenDone = [];
  }

  private lazySandbox(): TaskRunner {
    return {
      run: async (request: RunRequest): Promise<Envelope> => {
        const created = (this.ownSandbox ??= Sandbox.create());
        // A pool that failed to start is not kept: the step fails (and retries) and the next one tries again.
        created.catch(() => {
          if (this.ownSandbox === created) this.ownSandbox = undefined;
        });
        return (await created).run(request);
      },
    };
  }

  /** The plugin's converter, else the worker's own, else Capsule's for `cwd` (opened once, closed by close()). */
  private dataConverter(workers: DataConverter | undefined): DataConverter {
    if (this.capsule.dataConverter !== undefined) return this.capsule.dataConverter;
    if (workers !== undefined) return workers;
    this.payloads ??= openPayloadLayer(resolvePayloadSettings(this.capsule.cwd ?? process.cwd(), this.capsule.env ?? process.env));
    return this.payloads.dataConverter;
  }
}

/**
 * Where a worker's workflows come from: a bundle given to it as it is (make it with workflowBundle() so it holds
 * Capsule's workflows; cached on disk, where Worker.create's own bundling is not), else an entry exporting its
 * workflowsPath's workflows with Capsule's (Capsule's alone without one).
 */
function workflowsOf(workflowsPath: string | undefined, given: WorkflowBundleOption | undefined): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (given !== undefined) return { workflowBundle: given };
  return { workflowsPath: workflowsPath === undefined ? WORKFLOWS_ENTRY : combinedEntry(checkWorkflowsFile(workflowsPath)) };
}
