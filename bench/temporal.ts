/**
 * Temporal benchmarks on the embedded dev server (in memory), one worker:
 *  - a sequential 20-step pipeline of trivial tasks: per-step latency p50 (target <= 40 ms);
 *  - a fan-out of 500 trivial steps, twice: steps per second of the first, and of the next (a running worker's
 *    steady state: target >= 200, and >= 60 % of the bare-Temporal floor measured the same way on the same server
 *    right after), with the CPU each step of the next cost the server and the worker;
 * each with the real sandbox and with a native runner (same function, no sandbox) side by side.
 * Run: `node --import tsx bench/temporal.ts` (or through `npm run bench`). Prints Markdown tables.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TaskRunner } from '../src/activities/index.js';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';
import { awaitOutcome } from '../src/client/outcome.js';
import { installRuntime } from '../src/client/runtime.js';
import { preparePipeline, startPipeline } from '../src/client/submit.js';
import { createWorker } from '../src/client/worker.js';
import { workflowBundle } from '../src/client/workflow-bundle.js';
import { bundleTaskFile, Sandbox } from '../src/sandbox/index.js';
import { threadIds } from './cpu-time.js';
import { measureFloor, type FloorResult } from './temporal-floor.js';
import { completionTimes, fanOutSpan, formatCpu, measureCpu, scheduledTimes, type CpuPerStep } from './temporal-measure.js';
import { NativeRunner } from './temporal-native.js';

const TRIVIAL = fileURLToPath(new URL('./temporal-tasks/trivial.ts', import.meta.url));
const SEQUENTIAL_STEPS = 20;
const FAN_OUT = 500;
const MAX_CONCURRENT_STEPS = 64;

export interface TemporalBenchRow {
  runner: 'sandbox' | 'native';
  sequentialP50Ms: number;
  sequentialTotalMs: number;
  /** The first fan-out this worker ran (V8 still compiling the sandbox's code, caches filling). */
  firstFanOutStepsPerSecond: number;
  /** The next one, measured: a long-running worker's steady state. */
  fanOutStepsPerSecond: number;
  fanOutTotalMs: number;
  fanOutCpu: CpuPerStep;
}

/** The same trivial task run straight through Sandbox.run, as many at once as the worker allows: what bounds the fan-out. */
export interface SandboxAlone {
  runsPerSecond: number;
  cpu: CpuPerStep;
}

export interface TemporalBench {
  rows: TemporalBenchRow[];
  sandboxAlone: SandboxAlone;
  /** The bare-Temporal floor, on the same server right after the rows. */
  floor: FloorResult[];
}

export async function runTemporalBench(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<TemporalBench> {
  installRuntime('ERROR');
  const binary = await findTemporalBinary({ report: log });
  const server = await startDevServer({ binary, headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  // Threads the Sandbox starts are counted apart; libuv's pool starts at the first asynchronous file call, so make one first.
  await readFile(TRIVIAL);
  const before = threadIds();
  const sandbox = await Sandbox.create();
  const sandboxThreads = new Set([...threadIds()].filter((tid) => !before.has(tid)));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-'));
  const bundle = await workflowBundle();
  const rows: TemporalBenchRow[] = [];
  try {
    const sequential = write(dir, 'sequential.json', {
      name: 'bench-sequential',
      input: { n: 0 },
      steps: Array.from({ length: SEQUENTIAL_STEPS }, (_, i) => ({ id: `s${i}`, task: TRIVIAL, input: i === 0 ? '{{ input }}' : `{{ steps.s${i - 1}.output }}` })),
    });
    const fanOut = write(dir, 'fanout.json', {
      name: 'bench-fanout',
      input: { items: Array.from({ length: FAN_OUT }, (_, i) => i) },
      steps: [{ id: 'each', task: TRIVIAL, forEach: '{{ input.items }}', input: { n: '{{ item }}' } }],
    });
    for (const [label, runner] of [['sandbox', sandbox], ['native', new NativeRunner()]] as const) {
      const taskQueue = `bench-${label}-${process.pid}`;
      const native = await NativeConnection.connect({ address: server.address });
      // The plain converter: these figures are the orchestration floor; bench/payloads.ts measures the payload layer.
      const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, sandbox: runner as TaskRunner, dataConverter: {}, workflowBundle: bundle, maxConcurrentSteps: MAX_CONCURRENT_STEPS });
      const running = worker.run();
      try {
        // Warm-up run (sandbox pool, workflow cache), not measured.
        await runOnce(client, sandbox, sequential, dir, taskQueue, `${label}-warm`);
        const seq = await runOnce(client, sandbox, sequential, dir, taskQueue, `${label}-seq`);
        const seqTimes = completionTimes(seq.history);
        const gaps = seqTimes.slice(1).map((t, i) => t - seqTimes[i]!);
        const first = await runOnce(client, sandbox, fanOut, dir, taskQueue, `${label}-fan-first`);
        const { result: fan, cpu } = await measureCpu(server.pid, FAN_OUT, () => runOnce(client, sandbox, fanOut, dir, taskQueue, `${label}-fan`), sandboxThreads);
        const fanMs = fanOutSpan(fan.history);
        const row: TemporalBenchRow = {
          runner: label,
          sequentialP50Ms: median(gaps),
          sequentialTotalMs: Math.round(seqTimes.at(-1)! - scheduledTimes(seq.history)[0]!),
          firstFanOutStepsPerSecond: Math.round((FAN_OUT / fanOutSpan(first.history)) * 1000),
          fanOutStepsPerSecond: Math.round((FAN_OUT / fanMs) * 1000),
          fanOutTotalMs: Math.round(fanMs),
          fanOutCpu: cpu,
        };
        log(`${label}: ${JSON.stringify(row)}`);
        rows.push(row);
      } finally {
        worker.shutdown();
        await running;
        await native.close();
      }
    }
    const sandboxAlone = await runSandboxAlone(sandbox, server.pid, dir, sandboxThreads);
    log(`sandbox alone: ${JSON.stringify(sandboxAlone)}`);
    const native = await NativeConnection.connect({ address: server.address });
    try {
      const floor = await measureFloor({ client, native, serverPid: server.pid });
      log(`floor: ${JSON.stringify(floor)}`);
      return { rows, sandboxAlone, floor };
    } finally {
      await native.close();
    }
  } finally {
    await sandbox.close();
    await connection.close();
    await server.stop();
  }
}

async function runSandboxAlone(sandbox: Sandbox, serverPid: number, dir: string, sandboxThreads: ReadonlySet<string>): Promise<SandboxAlone> {
  const bundle = await bundleTaskFile(TRIVIAL);
  const resolved = (await sandbox.describe(bundle, { baseDir: dir })).get('main')!;
  const run = async (n: number) => {
    const envelope = await sandbox.run({ bundle, task: 'main', args: [{ n }], baseDir: dir, resolved, context: { workflowId: 'bench', runId: 'bench', stepId: `each[${n}]`, attempt: 1, idempotencyKey: 'bench' } });
    if (!envelope.success) throw new Error(`sandbox alone: ${envelope.error?.message ?? 'failed'}`);
  };
  for (let i = 0; i < 20; i++) await run(i); // warm-up
  const started = performance.now();
  const { cpu } = await measureCpu(serverPid, FAN_OUT, async () => {
    let next = 0;
    // As many at once as the worker's step slots (the pool queues the rest, as it does under the worker).
    await Promise.all(Array.from({ length: MAX_CONCURRENT_STEPS }, async () => {
      while (next < FAN_OUT) await run(next++);
    }));
  }, sandboxThreads);
  return { runsPerSecond: Math.round((FAN_OUT / (performance.now() - started)) * 1000), cpu };
}

async function runOnce(client: Client, sandbox: Sandbox, file: string, cwd: string, taskQueue: string, id: string) {
  const input = await preparePipeline({ file, cwd, describer: sandbox });
  const handle = await startPipeline(client, input, { taskQueue, workflowId: `${id}-${Date.now()}` });
  const outcome = await awaitOutcome(handle);
  if (outcome.status !== 'succeeded') throw new Error(`${id}: ${outcome.status} ${outcome.message ?? ''}`);
  return { outcome, history: await handle.fetchHistory() };
}

function write(dir: string, name: string, definition: object): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(definition));
  return file;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return Math.round(sorted.length % 2 === 0 ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[mid]!);
}

export function formatTemporalBench({ rows, sandboxAlone, floor }: TemporalBench): string {
  // Capsule's steps carry a heartbeat timeout: the floor to compare with is the one that does too.
  const base = floor.find((f) => f.heartbeatTimeout) ?? floor[0]!;
  const lines = [
    `| runner | sequential ${SEQUENTIAL_STEPS} steps: p50 per step | sequential total | first fan-out ${FAN_OUT}: steps/s | next fan-out ${FAN_OUT}: steps/s | of the floor | its total | its CPU per step, ms |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.runner} | ${r.sequentialP50Ms} ms | ${r.sequentialTotalMs} ms | ${r.firstFanOutStepsPerSecond} | ${r.fanOutStepsPerSecond} | ${Math.round((r.fanOutStepsPerSecond / base.fanOutStepsPerSecond) * 100)} % | ${r.fanOutTotalMs} ms | ${formatCpu(r.fanOutCpu)} |`),
    '',
    `Each worker runs one fan-out unmeasured for CPU first: the figures after "first" are a running worker's (V8 has compiled the sandbox's glue, caches are full), as the floor's are.`,
    '',
    `The same task straight through \`Sandbox.run\` (no Temporal, ${MAX_CONCURRENT_STEPS} at once, same process and pool): ${sandboxAlone.runsPerSecond} runs/s, CPU per run ${formatCpu(sandboxAlone.cpu)} ms; the sandboxed fan-out reaches ${Math.round((rows.find((r) => r.runner === 'sandbox')!.fanOutStepsPerSecond / sandboxAlone.runsPerSecond) * 100)} % of it.`,
    '',
    'Floor (no Capsule: bare workflow, no-op activity, same server and worker settings, measured right after):',
    '',
    `| heartbeat timeout | sequential: per step | fan-out ${FAN_OUT}: steps/s | fan-out CPU per step, ms |`,
    '|---|---|---|---|',
    ...floor.map((f) => `| ${f.heartbeatTimeout ? 'yes' : 'no'} | ${f.sequentialPerStepMs} ms | ${f.fanOutStepsPerSecond} | ${formatCpu(f.fanOutCpu)} |`),
    '',
    `Targets: sequential p50 <= 40 ms per step; fan-out >= 200 steps/s and >= 60 % of the floor with a heartbeat timeout (${base.fanOutStepsPerSecond} steps/s in this run), on the next fan-out.`,
  ];
  return lines.join('\n');
}

/** Both Capsule runners plus the bare-Temporal floor, printed as Markdown (for `npm run bench`). */
export async function benchTemporal(): Promise<void> {
  process.stdout.write(`${formatTemporalBench(await runTemporalBench())}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchTemporal();
  process.exit(0);
}
