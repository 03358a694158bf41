/**
 * How late heartbeats get on a busy machine: the figure behind the default heartbeat timeout. A worker (the real
 * sandbox, one guest per core, all CPU-bound) runs long steps while the server records their heartbeats; halfway,
 * 20 `capsule run --detach` start at once on the same two cores (the burst that used to break describing and
 * declare live steps lost). Measured from the server's side — the gaps between the heartbeat times it recorded for
 * each running step, and how long after its start it recorded an attempt's first one — and, inside the worker, the
 * event loop's delay. Run: `node --import tsx bench/heartbeat.ts` (or through `npm run bench`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';
import { installRuntime } from '../src/client/runtime.js';
import { preparePipeline, startPipeline } from '../src/client/submit.js';
import { createWorker } from '../src/client/worker.js';
import { workflowBundle } from '../src/client/workflow-bundle.js';
import { Sandbox } from '../src/sandbox/index.js';
import { DEFAULT_RETRY_TUNING } from '../src/workflows/shared.js';
import { median, percentile } from './stats.js';

const CLI = fileURLToPath(new URL('../bin/capsule.js', import.meta.url));
const SPIN = fileURLToPath(new URL('./temporal-tasks/spin.ts', import.meta.url));
const TRIVIAL = fileURLToPath(new URL('./temporal-tasks/trivial.ts', import.meta.url));
const PHASE_MS = 20_000;
const BURST = 20;

export interface HeartbeatPhase {
  label: string;
  /** Gaps between consecutive heartbeat times the server recorded for a running step (ms). */
  gapP50Ms: number;
  gapMaxMs: number;
  /** From an attempt's start to the first heartbeat the server recorded for it (ms). */
  firstBeatMaxMs: number;
  eventLoopDelayMaxMs: number;
}

export interface HeartbeatBench {
  phases: HeartbeatPhase[];
  burst: { submitted: number; failed: number; wallP50Ms: number; wallMaxMs: number };
  heartbeatTimeoutMs: number;
}

export async function runHeartbeatBench(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<HeartbeatBench> {
  installRuntime('ERROR');
  const server = await startDevServer({ binary: await findTemporalBinary({ report: log }), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const sandbox = await Sandbox.create();
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await createWorker({ connection: native, namespace: 'default', taskQueue: 'busy', sandbox, dataConverter: {}, workflowBundle: await workflowBundle() });
  const running = worker.run();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-heartbeat-'));
  try {
    const file = path.join(dir, 'spin.json');
    const steps = os.availableParallelism() * 2;
    writeFileSync(file, JSON.stringify({ name: 'spin', steps: [{ id: 'spin', task: SPIN, forEach: Array.from({ length: steps }, (_, i) => i), input: { iterations: 2_000_000_000 } }] }));
    const input = await preparePipeline({ file, cwd: dir, describer: sandbox });
    const handle = await startPipeline(client, input, { taskQueue: 'busy', workflowId: `spin-${Date.now()}` });
    const watch = watchHeartbeats(client, handle.workflowId);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    // Measure from when the worker is busy: every core has a guest running.
    while (watch.running() < os.availableParallelism()) await sleep(250);
    loop.enable();
    await sleep(PHASE_MS);
    const quiet = watch.take('guests only (one per core)', loop);

    writeFileSync(path.join(dir, 'trivial.json'), JSON.stringify({ name: 'trivial', steps: [{ id: 'one', task: TRIVIAL, input: '{{ input }}' }] }));
    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => submit(dir, server.address, i)));
    const busy = watch.take(`guests + ${BURST} concurrent \`capsule run --detach\``, loop);
    watch.stop();
    loop.disable();
    await client.workflow.getHandle(handle.workflowId).terminate('benchmark over');
    const walls = burst.map((b) => b.wallMs);
    return {
      phases: [quiet, busy],
      burst: { submitted: burst.filter((b) => b.ok).length, failed: burst.filter((b) => !b.ok).length, wallP50Ms: Math.round(median(walls)), wallMaxMs: Math.round(Math.max(...walls)) },
      heartbeatTimeoutMs: DEFAULT_RETRY_TUNING.heartbeatTimeoutMs,
    };
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await sandbox.close();
    await connection.close();
    await server.stop();
  }
}

/** Polls the workflow's pending activities and keeps each step's heartbeat times as the server recorded them. */
function watchHeartbeats(client: Client, workflowId: string) {
  let gaps: number[] = [];
  let firstBeats: number[] = [];
  const last = new Map<string, number>();
  let runningNow = 0;
  let stopped = false;
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t == null ? undefined : Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6);
  const poll = async () => {
    while (!stopped) {
      const { raw } = await client.workflow.getHandle(workflowId).describe();
      const started = (raw.pendingActivities ?? []).filter((a) => a.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
      runningNow = started.length;
      for (const a of started) {
        const key = `${a.activityId}/${a.attempt}`;
        const beat = ms(a.lastHeartbeatTime);
        const startedAt = ms(a.lastStartedTime);
        if (beat === undefined) continue;
        const previous = last.get(key);
        if (previous === undefined && startedAt !== undefined) firstBeats.push(beat - startedAt);
        else if (previous !== undefined && beat > previous) gaps.push(beat - previous);
        last.set(key, beat);
      }
      await sleep(250);
    }
  };
  const polling = poll();
  return {
    running: () => runningNow,
    take(label: string, loop: ReturnType<typeof monitorEventLoopDelay>): HeartbeatPhase {
      const phase = {
        label,
        gapP50Ms: Math.round(gaps.length === 0 ? 0 : median(gaps)),
        gapMaxMs: Math.round(gaps.length === 0 ? 0 : percentile(gaps, 100)),
        firstBeatMaxMs: Math.round(firstBeats.length === 0 ? 0 : Math.max(...firstBeats)),
        eventLoopDelayMaxMs: Math.round(loop.max / 1e6),
      };
      gaps = [];
      firstBeats = [];
      loop.reset();
      return phase;
    },
    stop() {
      stopped = true;
      return polling;
    },
  };
}

/** One `capsule run --detach` of the trivial pipeline (its own input, so its own workflow), timed. */
function submit(dir: string, address: string, n: number): Promise<{ ok: boolean; wallMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', 'trivial.json', '--detach', '--input', JSON.stringify({ n })], {
    cwd: dir,
    env: { ...process.env, TEMPORAL_ADDRESS: address, CAPSULE_TASK_QUEUE: 'nobody' },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ ok: code === 0, wallMs: performance.now() - started })));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatHeartbeatBench(result: HeartbeatBench): string {
  return [
    '| load on the 2 cores | heartbeat gap p50 | heartbeat gap max | first heartbeat after start (max) | worker event-loop delay (max) |',
    '|---|---|---|---|---|',
    ...result.phases.map((p) => `| ${p.label} | ${p.gapP50Ms} ms | ${p.gapMaxMs} ms | ${p.firstBeatMaxMs} ms | ${p.eventLoopDelayMaxMs} ms |`),
    '',
    `The burst: ${result.burst.submitted} of ${result.burst.submitted + result.burst.failed} \`capsule run --detach\` submitted, wall time p50 ${result.burst.wallP50Ms} ms, max ${result.burst.wallMaxMs} ms. ` +
      `Default heartbeat timeout: ${result.heartbeatTimeoutMs} ms.`,
  ].join('\n');
}

export async function benchHeartbeat(): Promise<void> {
  process.stdout.write(`${formatHeartbeatBench(await runHeartbeatBench())}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchHeartbeat();
  process.exit(0);
}
