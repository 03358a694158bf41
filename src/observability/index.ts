/**
 * A worker's metrics, traces and health, opened from its settings (settings.ts) in the order the SDK needs:
 * `prepare` binds the health port (liveness answers while the sandbox warms up), the caller installs the SDK runtime
 * with `metricsAddress`, then `open` builds the sandbox observer and the worker's tracing, and `serve` starts the
 * readiness probe and the pool gauges once the worker exists. src/cli/commands/worker.ts is the one caller.
 */
import type { MetricMeter } from '@temporalio/common';
import type { PoolStats, RunObserver, RunWatch } from '../sandbox/index.js';
import { startHealthServer, workerReadiness, type HealthServer, type ServerView, type WorkerView } from './health.js';
import { createSandboxMetrics, type SandboxMetrics } from './metrics.js';
import { otlpSpanProcessor, workerResource } from './otlp.js';
import type { ObservabilitySettings } from './settings.js';
import { createTracing, type Tracing, type WorkerTracing } from './tracing.js';

export { ObservabilityConfigError } from './errors.js';
export { resolveObservability, type ObservabilityFlags, type ObservabilitySettings } from './settings.js';
export type { WorkerTracing } from './tracing.js';

export interface WorkerObservability {
  /** For installRuntime (src/client/runtime.ts): where the SDK's exporter serves /metrics. */
  metricsAddress?: string;
  /** host:port the health server listens on, once prepared. */
  healthAddress?: string;
  /** For Sandbox.create: metrics and spans of every run. */
  observer?: RunObserver;
  /** For the worker factory (client/worker.ts): interceptors, the workflow span sink and the bundle's interceptor modules. */
  tracing?: WorkerTracing;
  serve(target: { worker: WorkerView; connection: ServerView; pool: () => PoolStats }): void;
  /** A shutdown was requested: readiness turns 503 while steps finish. */
  drain(): void;
  close(): Promise<void>;
}

/** Binds the health port (so a busy port fails before anything else starts). */
export async function prepareObservability(settings: ObservabilitySettings): Promise<{ health?: HealthServer; open(meter: MetricMeter): WorkerObservability }> {
  const health = settings.health === undefined ? undefined : await startHealthServer(settings.health.host, settings.health.port);
  return {
    ...(health ? { health } : {}),
    open(meter) {
      const metrics: SandboxMetrics | undefined = settings.metrics === undefined ? undefined : createSandboxMetrics(meter);
      const tracing: Tracing | undefined = settings.otlp === undefined ? undefined : createTracing({ spanProcessor: otlpSpanProcessor(settings.otlp), resource: workerResource() });
      const observer = combineObservers([metrics, tracing?.observer].filter((o): o is RunObserver => o !== undefined));
      return {
        ...(settings.metrics ? { metricsAddress: settings.metrics.text } : {}),
        ...(health ? { healthAddress: health.address } : {}),
        ...(observer ? { observer } : {}),
        ...(tracing ? { tracing: tracing.worker } : {}),
        serve({ worker, connection, pool }) {
          metrics?.watchPool(pool);
          health?.setProbe(workerReadiness(worker, connection));
        },
        drain() {
          health?.drain();
        },
        async close() {
          metrics?.close();
          await Promise.all([tracing?.shutdown(), health?.close()]);
        },
      };
    },
  };
}

/** One observer telling several; each sees its own watch of a sub-task's parent. */
export function combineObservers(observers: RunObserver[]): RunObserver | undefined {
  if (observers.length <= 1) return observers[0];
  const parts = new WeakMap<RunWatch, RunWatch[]>();
  return {
    runStarted(run) {
      const parentParts = run.parent === undefined ? undefined : parts.get(run.parent);
      const watches = observers.map((observer, i) => observer.runStarted({ ...run, parent: parentParts?.[i] }));
      const watch: RunWatch = {
        ended: (envelope) => watches.forEach((w) => w.ended(envelope)),
        failed: (error) => watches.forEach((w) => w.failed(error)),
      };
      parts.set(watch, watches);
      return watch;
    },
  };
}
