/** Small statistics helpers; percentiles over whole-run latencies are all the benchmarks need. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Runs `call` `count` times in sequence and returns each call's wall time in milliseconds. */
export async function timed(count: number, call: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** "p50 …, p95 …" of a set of latencies. */
export const summary = (samples: number[]) => `p50 ${ms(percentile(samples, 50))}, p95 ${ms(percentile(samples, 95))}`;

/** A benchmark's table lines: printed as they come, and kept for the caller. */
export function tableWriter(): { lines: string[]; out: (line: string) => void } {
  const lines: string[] = [];
  return {
    lines,
    out: (line: string) => {
      lines.push(line);
      process.stdout.write(`${line}\n`);
    },
  };
}
