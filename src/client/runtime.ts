/**
 * The SDK runtime (logging) must be installed once, before any Worker or NativeConnection exists. Workers log one
 * JSON object per line to stderr so logs stay machine-readable and stdout stays free for results.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

export function installRuntime(level: LogLevel = 'INFO'): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const { meta, ...rest } = entry;
      process.stderr.write(`${JSON.stringify({ time: new Date(Number(rest.timestampNanos / 1_000_000n)).toISOString(), level: rest.level, message: rest.message, ...meta }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
    }),
  });
}
