/**
 * Builds a Capsule worker: src/workflows + the runTask activity on one task queue, with bounded concurrency.
 * The workflow bundle (webpack, several seconds) is cached on disk by a hash of the workflow sources and SDK version.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { capsuleCacheDir } from '../config/paths.js';
import { createActivities, type TaskRunner } from '../activities/index.js';
import type { WorkerTracing } from '../observability/index.js';

export const WORKFLOWS_DIR = fileURLToPath(new URL('../workflows/', import.meta.url));
const WORKFLOWS_ENTRY = path.join(WORKFLOWS_DIR, 'index.ts');

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
  /** OpenTelemetry spans for workflows and activities (src/observability/tracing.ts); the bundle then includes its interceptors. */
  tracing?: WorkerTracing;
}

/**
 * The most time between two heartbeats the SDK sends for a running step (it sends at most one per 80 % of the
 * step's heartbeat timeout, and no less often than this). It bounds how late a cancellation reaches a running
 * guest (the server answers a heartbeat with it) and leaves the heartbeat timeout's remaining 25 s (by default) as
 * slack for a busy machine.
 */
const MAX_HEARTBEAT_THROTTLE = '5s';

export async function createCapsuleWorker(options: CapsuleWorkerOptions): Promise<Worker> {
  const tracing = options.tracing;
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle ?? (await workflowBundle(tracing?.workflowModules)),
    dataConverter: options.dataConverter,
    activities: createActivities({ sandbox: options.sandbox, ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }) }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentSteps ?? os.availableParallelism(),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE,
    ...(tracing === undefined ? {} : { interceptors: tracing.interceptors, sinks: tracing.sinks }),
  });
}

/**
 * Bundles src/workflows once per source version (the bundle must match the @temporalio/worker that runs it), with
 * the given workflow interceptor modules (tracing's; they must be in the bundle, the SDK cannot add them later).
 */
export async function workflowBundle(interceptorModules: string[] = []): Promise<WorkflowBundle> {
  const key = bundleKey(interceptorModules);
  const dir = path.join(capsuleCacheDir(), 'workflow-bundles');
  const file = path.join(dir, `${key}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_ENTRY, workflowInterceptorModules: interceptorModules, logger: quietLogger });
  mkdirSync(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, code);
  const { renameSync } = await import('node:fs');
  renameSync(temp, file);
  return { code };
}

function bundleKey(interceptorModules: string[]): string {
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string };
  hash.update(pkg.version);
  // Interceptor modules come from pinned packages: their paths name them.
  for (const module of interceptorModules) hash.update(`interceptor:${path.relative(WORKFLOWS_DIR, module)}\n`);
  // Every project module the bundle holds: src/workflows and what it imports (the contract's schemas, units, errors).
  for (const file of workflowSources()) hash.update(path.relative(WORKFLOWS_DIR, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 24);
}

/** The workflow entry and every project module it reaches through value imports (type-only imports are erased). */
function workflowSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)(?! type)[^'";]*?from '(\.{1,2}\/[^']+)'/gm)) {
      visit(path.resolve(path.dirname(file), match[1]!.replace(/\.js$/, '.ts')));
    }
  };
  for (const name of readdirSync(WORKFLOWS_DIR).sort()) if (name.endsWith('.ts')) visit(path.join(WORKFLOWS_DIR, name));
  return [...seen].sort();
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
};
