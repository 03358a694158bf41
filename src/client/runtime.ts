/**
 * The SDK runtime (logging, metrics) must be installed once, before any Worker or NativeConnection exists. Workers
 * log one JSON object per line to stderr so logs stay machine-readable and stdout stays free for results. With a
 * metrics address the SDK's Prometheus exporter serves its own metrics and Capsule's (src/observability/metrics.ts,
 * recorded through `Runtime.instance().metricMeter`) on one endpoint, named by Prometheus conventions.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { HISTOGRAM_BUCKETS } from '../observability/metrics.js';

export interface RuntimeTelemetry {
  /** host:port for the Prometheus endpoint (`/metrics`); none: metrics are not exported. */
  metricsAddress?: string;
}

let installed: { telemetry: RuntimeTelemetry } | undefined;

export function installRuntime(level: LogLevel = 'INFO', telemetry: RuntimeTelemetry = {}): Runtime {
  if (installed) {
    if (telemetry.metricsAddress !== undefined && telemetry.metricsAddress !== installed.telemetry.metricsAddress) {
      throw new Error(`the Temporal runtime of this process is already installed ${installed.telemetry.metricsAddress === undefined ? 'without metrics' : `with metrics on ${installed.telemetry.metricsAddress}`}`);
    }
    return Runtime.instance();
  }
  const runtime = Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const { meta, ...rest } = entry;
      process.stderr.write(`${JSON.stringify({ time: new Date(Number(rest.timestampNanos / 1_000_000n)).toISOString(), level: rest.level, message: rest.message, ...meta }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
    }),
    ...(telemetry.metricsAddress === undefined
      ? {}
      : {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: telemetry.metricsAddress,
                // Prometheus conventions: counters end in _total, durations in seconds with the unit in the name.
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
                histogramBucketOverrides: HISTOGRAM_BUCKETS,
              },
            },
          },
        }),
  });
  installed = { telemetry };
  return runtime;
}
