/**
 * Capsule's own Prometheus metrics, recorded through the Temporal SDK's runtime meter so that one exporter (the
 * SDK's, `capsule worker --metrics`) serves them next to the SDK's own worker and client metrics on one endpoint.
 * Names follow Prometheus conventions: a `capsule_` namespace, base units in the name (`_seconds`, `_bytes`,
 * added by the exporter from the unit), `_total` on counters (likewise). Labels stay low-cardinality: never a task
 * name, a workflow id or anything a guest chose.
 */
import type { MetricMeter } from '@temporalio/common';
import type { ErrorType, PoolStats, RunObserver, RunWatch } from '../sandbox/index.js';

/** A run's outcome label: "success", or the envelope's error_type. */
export type RunOutcome = 'success' | ErrorType;

/** Metric names as registered; the exporter adds `_total` to counters and the unit to histograms. */
export const METRIC = {
  runs: 'capsule_sandbox_runs',
  duration: 'capsule_sandbox_run_duration',
  fuel: 'capsule_sandbox_fuel_consumed',
  memory: 'capsule_sandbox_memory_peak',
  denials: 'capsule_sandbox_denials',
  queueDepth: 'capsule_sandbox_pool_queue_depth',
  threads: 'capsule_sandbox_threads',
} as const;

const MIB = 1024 * 1024;

/**
 * Bucket bounds for Capsule's histograms (the exporter's defaults suit latencies in seconds, not fuel or bytes).
 * Fuel spans the compute levels (LOW 1e8, MEDIUM 2e9, HIGH 5e10); memory the `ram` values tasks declare.
 */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [METRIC.duration]: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
  [METRIC.fuel]: [1e5, 1e6, 1e7, 1e8, 5e8, 2e9, 1e10, 5e10, 1e11],
  [METRIC.memory]: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096].map((m) => m * MIB),
};

/** How often the pool gauges are sampled (the exporter serves the last value; scrapes are ~15 s apart). */
const SAMPLE_EVERY_MS = 1000;

export interface SandboxMetrics extends RunObserver {
  /** Starts sampling the pool's gauges from `stats` until close(). */
  watchPool(stats: () => PoolStats): void;
  close(): void;
}

export function createSandboxMetrics(meter: MetricMeter): SandboxMetrics {
  const runs = meter.createCounter(METRIC.runs, undefined, 'Sandbox runs (sub-tasks included) by outcome ("success" or the envelope\'s error_type), language and kind (task or subtask)');
  const duration = meter.createHistogram(METRIC.duration, 'float', 'seconds', 'Wall-clock time of a sandbox run, from its start to its envelope');
  const fuel = meter.createHistogram(METRIC.fuel, 'int', undefined, 'Fuel a sandbox run consumed (Capsule\'s metered WebAssembly instructions)');
  const memory = meter.createHistogram(METRIC.memory, 'int', 'bytes', 'Peak linear memory of a sandbox run');
  const denials = meter.createCounter(METRIC.denials, undefined, 'Capability uses a guest was refused, by capability (file, network, env, module)');
  const queueDepth = meter.createGauge(METRIC.queueDepth, 'int', undefined, 'Sandbox runs waiting for a free thread');
  const threads = meter.createGauge(METRIC.threads, 'int', undefined, 'Sandbox threads alive (idle or running a guest)');
  let timer: NodeJS.Timeout | undefined;

  return {
    runStarted({ language, depth }): RunWatch {
      const started = performance.now();
      const kind = depth === 0 ? 'task' : 'subtask';
      return {
        ended(envelope) {
          const outcome: RunOutcome = envelope.success ? 'success' : (envelope.error?.error_type ?? 'internal_error');
          const execution = envelope.execution;
          runs.add(1, { outcome, language, kind });
          duration.record((performance.now() - started) / 1000, { language, kind });
          fuel.record(execution.fuel_consumed, { language, kind });
          memory.record(execution.ram_used, { language, kind });
          for (const denial of execution.denials) denials.add(1, { capability: denial.capability, language });
        },
        failed() {
          runs.add(1, { outcome: 'internal_error', language, kind });
        },
      };
    },
    watchPool(stats) {
      const sample = () => {
        const now = stats();
        queueDepth.set(now.queued);
        threads.set(now.threads);
      };
      sample();
      clearInterval(timer);
      timer = setInterval(sample, SAMPLE_EVERY_MS);
      timer.unref();
    },
    close() {
      clearInterval(timer);
    },
  };
}
