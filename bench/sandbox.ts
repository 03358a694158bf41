/**
 * Sandbox benchmarks (issue 2): fresh-sandbox overhead, fuel-metering overhead, guest speed vs Node, throughput
 * and memory per concurrent sandbox. Each figure is a ratio or a latency measured in this same run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTaskFile, Sandbox, type Envelope, type TaskBundle } from '../src/sandbox/index.js';
import { loadRuntime } from '../src/sandbox/runtime/runtime.js';
import { COMPUTE_LEVELS } from '../src/config/units.js';
import { measureMetering } from './metering.js';
import { median, ms, percentile } from './stats.js';
import { NativeRunner } from './temporal-native.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const baseDir = here;
const MIB = 1024 * 1024;

/** µs per guest file read (3 levels below the grant, 1 KiB) vs the host's own readFileSync of the same file. */
async function measureFileCalls(sandbox: Sandbox, bundle: TaskBundle): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-files-'));
  try {
    const file = path.join(dir, 'data/nested/deeper/input.txt');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'x'.repeat(1024));
    const n = 2000;
    const guest: number[] = [];
    let fuelPerRead = 0;
    for (let i = 0; i < 5; i++) {
      const envelope = await sandbox.run({ bundle, args: [n], baseDir: dir });
      if (envelope.result !== n * 1024) throw new Error(`the file-read run failed: ${envelope.error?.message}`);
      guest.push((envelope.execution.duration_ms * 1000) / n);
      fuelPerRead = envelope.execution.fuel_consumed / n;
    }
    const host: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      for (let j = 0; j < n; j++) readFileSync(file, 'utf8');
      host.push(((performance.now() - started) * 1000) / n);
    }
    const [g, h] = [median(guest), median(host)];
    return `| file read from the guest (1 KiB, 3 levels below the grant; ${n} per run, median of 5) | ${g.toFixed(1)} µs per read (${Math.round(fuelPerRead).toLocaleString('en-US')} fuel) vs host readFileSync ${h.toFixed(1)} µs: ${(g / h).toFixed(1)}x | report |`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What `compute: "LOW"` buys in the original Capsule (wasmtime's fuel, one unit per wasm operator) for the issue's
 * loop `for (let i = 0; i < n; i++) s += i`, measured side by side in issue 17 (bench/versus.ts measures it live).
 */
const ORIGINAL_LOW_ITERATIONS = 118_000;
const LOOP_SHAPES = ['sum', 'strings', 'push', 'properties', 'calls'] as const;

/** Fuel per iteration of loops of several shapes (the difference of two lengths, so the run's fixed cost cancels out). */
async function fuelPerIteration(sandbox: Sandbox, bundle: TaskBundle, task: string): Promise<number> {
  const fuel = async (n: number) => {
    const envelope = await sandbox.run({ bundle, task, args: [n], baseDir });
    if (!envelope.success) throw new Error(`the ${task} loop failed: ${envelope.error?.message}`);
    return envelope.execution.fuel_consumed;
  };
  return ((await fuel(20_000)) - (await fuel(10_000))) / 10_000;
}

async function measureFuelUnit(runtime: Awaited<ReturnType<typeof loadRuntime>>): Promise<string[]> {
  const sandbox = await Sandbox.create({ languages: ['js', 'python'] });
  try {
    return await fuelUnitRows(sandbox, runtime);
  } finally {
    await sandbox.close();
  }
}

async function fuelUnitRows(sandbox: Sandbox, runtime: Awaited<ReturnType<typeof loadRuntime>>): Promise<string[]> {
  const lines: string[] = [];
  const js = await bundleTaskFile(path.join(here, 'tasks/fuel-loops.ts'));
  const py = await bundleTaskFile(path.join(here, 'tasks/fuel_loops.py'));
  const buys = (perIteration: number) => Math.round(COMPUTE_LEVELS.LOW / perIteration);
  const sum = await fuelPerIteration(sandbox, js, 'sum');
  lines.push(
    `| what \`compute: "LOW"\` buys, the issue's loop (\`s += i\`) | ${buys(sum).toLocaleString('en-US')} iterations (${sum.toFixed(0)} fuel each) | ` +
      `the original Capsule ~${ORIGINAL_LOW_ITERATIONS.toLocaleString('en-US')}: ${(buys(sum) / ORIGINAL_LOW_ITERATIONS).toFixed(2)}x | within 2x |`,
  );
  for (const [language, bundle] of [['JavaScript', js], ['Python', py]] as const) {
    const shapes: string[] = [];
    for (const shape of LOOP_SHAPES) shapes.push(`${shape} ${(await fuelPerIteration(sandbox, bundle, shape)).toFixed(0)}`);
    lines.push(`| fuel per loop iteration, ${language} (bench/tasks/fuel-loops) | ${shapes.join(', ')} | report |`);
  }
  // Guest speed on the loop: the sandbox (warm), the same runtime without fuel counters, plain Node.
  const n = 3_000_000;
  const native = new NativeRunner();
  const nativeTimes: number[] = [];
  let expected: unknown;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    expected = (await native.run({ bundle: js, task: 'sum', args: [n], baseDir })).result;
    nativeTimes.push(performance.now() - started);
  }
  const guest: number[] = [];
  for (let i = 0; i < 5; i++) {
    const envelope = await sandbox.run({ bundle: js, task: 'sum', args: [n], baseDir });
    if (envelope.result !== expected) throw new Error('the guest computed a different sum');
    guest.push(envelope.execution.duration_ms);
  }
  const metering = await measureMetering(runtime, js.code, 5, { task: 'sum', n });
  lines.push(
    `| CPU-bound guest, the issue's loop (sum 0..3e6), warm | ${ms(median(guest))} in a sandbox; in-thread ${ms(metering.meteredMs)} metered vs ${ms(metering.unmeteredMs)} unmetered ` +
      `(metering +${((metering.meteredMs / metering.unmeteredMs - 1) * 100).toFixed(0)} %) | plain Node ${ms(median(nativeTimes))} | report |`,
  );
  return lines;
}

/** Peak RSS above `before` per guest while `count` runs of `start` are alive at once, and their median linear memory. */
async function perConcurrentRun(count: number, start: () => Promise<Envelope>): Promise<{ perSandbox: number; guestMemory: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const held = await Promise.all(Array.from({ length: count }, start));
  clearInterval(sampler);
  if (!held.every((e) => e.success)) throw new Error(`a memory run failed: ${held.find((e) => !e.success)?.error?.message}`);
  return { perSandbox: (peak - before) / count / MIB, guestMemory: median(held.map((e) => e.execution.ram_used)) / MIB };
}

/**
 * Memory per concurrent sandbox (issue 17: <= 20 MB for JavaScript): a new pool of `concurrent` threads, measured
 * from before it starts, so each figure holds a thread, its instance and whatever the guest's wait needs. A timer is
 * served in the sandbox thread; an HTTP response is awaited through the pool's one shared I/O service, a worker
 * started at the pool's first request (host/timers.ts, io/service.ts), so its cost is shared by the `concurrent`
 * guests. RSS moves with whatever else the machine does: each figure is the median of `rounds` new pools.
 */
export async function measureConcurrentMemory(bundle: TaskBundle, rounds = 3): Promise<string[]> {
  const concurrent = 8;
  const lines: string[] = [];
  const server = http.createServer((req, res) => void setTimeout(() => res.end('ok'), 1500));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const authority = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const wait of ['timer', 'http'] as const) {
      const totals: number[] = [];
      const idles: number[] = [];
      let guestMemory = 0;
      for (let round = 0; round < rounds; round++) {
        global.gc?.();
        const idleBefore = process.memoryUsage().rss;
        const wide = await Sandbox.create({ poolSize: concurrent });
        try {
          const idle = (process.memoryUsage().rss - idleBefore) / concurrent / MIB;
          const run = () =>
            wait === 'timer'
              ? wide.run({ bundle, task: 'hold', args: [1500], baseDir })
              : wide.run({ bundle, task: 'hold-http', args: [`http://${authority}/`], baseDir, defaults: { allowedHosts: [authority] } });
          const measured = await perConcurrentRun(concurrent, run);
          idles.push(idle);
          totals.push(idle + measured.perSandbox);
          guestMemory = measured.guestMemory;
        } finally {
          await wide.close();
        }
      }
      const what = wait === 'timer' ? 'waiting on a timer' : 'waiting on an HTTP response (one shared I/O service per pool)';
      const range = `${Math.min(...totals).toFixed(1)}-${Math.max(...totals).toFixed(1)}`;
      lines.push(
        `| memory per concurrent sandbox, ${what} (${concurrent} guests alive at once, thread included; median of ${rounds} pools) | ${median(totals).toFixed(1)} MB RSS ` +
          `(range ${range}; idle thread with its next instance ready ${median(idles).toFixed(1)} MB; guest linear memory ${guestMemory.toFixed(1)} MB) | <= 20 MB (issue 17) |`,
      );
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return lines;
}

export async function benchSandbox(): Promise<string[]> {
  const lines: string[] = [];
  const out = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const bundle = await bundleTaskFile(path.join(here, 'tasks/sandbox-bench.ts'));
  const runtime = await loadRuntime('js');
  const sandbox = await Sandbox.create();
  try {
    out(`| measure | result | target |`);
    out(`|---|---|---|`);

    // 1. Fresh-sandbox overhead: a trivial task, one at a time, on a warm pool.
    // Twice: the first runs of a new pool, and the same after a few hundred more (a long-lived pool: V8 goes on
    // compiling the runtime's hot functions with TurboFan, in the background, for the first few hundred runs).
    const trivialRuns = async (count: number) => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        const envelope = await sandbox.run({ bundle, task: 'trivial', baseDir });
        latencies.push(performance.now() - started);
        if (!envelope.success) throw new Error(`trivial run failed: ${envelope.error?.message}`);
      }
      return latencies;
    };
    await trivialRuns(20);
    const first = await trivialRuns(200);
    out(`| fresh sandbox, trivial task, warm pool (200 sequential runs after 20) | p50 ${ms(median(first))}, p95 ${ms(percentile(first, 95))} | p50 <= 4 ms, p95 <= 10 ms (issue 17) |`);
    await trivialRuns(400);
    const settled = await trivialRuns(200);
    out(`| the same, a long-lived pool (200 sequential runs after 620) | p50 ${ms(median(settled))}, p95 ${ms(percentile(settled, 95))} | the same |`);

    // 2. Fuel metering: metered vs unmetered main module, same guest code.
    const metering = await measureMetering(runtime, bundle.code, 9);
    const overhead = (metering.meteredMs / metering.unmeteredMs - 1) * 100;
    out(`| fuel-metering overhead (CPU loop, 2e6 iterations, median of 9 after 3 warm-ups) | metered ${ms(metering.meteredMs)} vs unmetered ${ms(metering.unmeteredMs)}: ${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)} % | <= 5 % |`);

    // 3. Guest speed: the same bundled function in the sandbox vs plain Node.
    const n = 2_000_000;
    const native = new NativeRunner();
    const nativeTimes: number[] = [];
    let expected: unknown;
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      expected = (await native.run({ bundle, task: 'cpu', args: [n], baseDir })).result;
      nativeTimes.push(performance.now() - started);
    }
    const guestTimes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const envelope = await sandbox.run({ bundle, task: 'cpu', args: [n], baseDir });
      if (envelope.result !== expected) throw new Error('the guest computed a different result');
      guestTimes.push(envelope.execution.duration_ms);
    }
    out(`| guest speed (same loop, 2e6 iterations): sandbox vs plain Node | ${ms(median(guestTimes))} vs ${ms(median(nativeTimes))}: ${(median(guestTimes) / median(nativeTimes)).toFixed(0)}x slower | report |`);

    // 3b. The CPU-bound loop (sum 0..n) and what a fuel unit buys (issue 17).
    for (const line of await measureFuelUnit(runtime)) out(line);

    // 4. Throughput: 400 trivial tasks submitted at once to the default pool.
    const burst = 400;
    const started = performance.now();
    const envelopes = await Promise.all(Array.from({ length: burst }, () => sandbox.run({ bundle, task: 'trivial', baseDir })));
    const seconds = (performance.now() - started) / 1000;
    if (!envelopes.every((e) => e.success)) throw new Error('a throughput run failed');
    out(`| throughput, default pool (${sandbox.poolSize} threads), ${burst} trivial tasks | ${(burst / seconds).toFixed(0)} tasks/s | report |`);

    // 5. File calls from the guest (a descriptor walk per call, issue 12) against Node reading the same file.
    out(await measureFileCalls(sandbox, await bundleTaskFile(path.join(here, 'tasks/file-reads.ts'))));
  } finally {
    await sandbox.close();
  }

  // 6. Memory: RSS per concurrent sandbox, each holding a live instance, waiting on a timer and on an HTTP response.
  for (const line of await measureConcurrentMemory(bundle)) out(line);
  out('');
  out(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)} at the end.`);
  return lines;
}
