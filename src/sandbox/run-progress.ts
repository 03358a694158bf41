/** A run's progress for its caller (heartbeats): elapsed time and output so far, about once a second. */
import type { GuestEvent } from './host/protocol.js';

const PROGRESS_INTERVAL_MS = 1000;

export interface RunProgress {
  elapsedMs: number;
  stdoutBytes: number;
  stderrBytes: number;
}

export function startProgress(onProgress: ((progress: RunProgress) => void) | undefined) {
  const started = performance.now();
  const bytes = { stdout: 0, stderr: 0 };
  const timer = onProgress
    ? setInterval(() => onProgress({ elapsedMs: Math.round(performance.now() - started), stdoutBytes: bytes.stdout, stderrBytes: bytes.stderr }), PROGRESS_INTERVAL_MS)
    : undefined;
  return {
    onEvent(event: GuestEvent) {
      if (event.kind === 'output') bytes[event.stream] += Buffer.byteLength(event.text);
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
