/**
 * The floor under Capsule's Temporal numbers: the same shapes (20 sequential steps, a 500-step fan-out) with a
 * no-op activity and a bare workflow, on the same dev server and worker settings. Whatever Capsule adds is the
 * difference from this. bench/temporal.ts measures it on its own server, right after Capsule's runners; run alone:
 * `node --import tsx bench/temporal-floor.ts`.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';
import { installRuntime } from '../src/client/runtime.js';
import { fanOutSpan, type CpuPerStep, measureCpu } from './temporal-measure.js';

export interface FloorResult {
  heartbeatTimeout: boolean;
  sequentialPerStepMs: number;
  fanOutStepsPerSecond: number;
  fanOutCpu: CpuPerStep;
}

export interface FloorServer {
  client: Client;
  native: NativeConnection;
  /** The server's pid, for its CPU time. */
  serverPid: number;
}

const SEQUENTIAL_STEPS = 20;
const FAN_OUT = 500;

/** The floor on a server the caller runs (the worker it starts here is shut down before it returns). */
export async function measureFloor({ client, native, serverPid }: FloorServer): Promise<FloorResult[]> {
  const { code } = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./temporal-floor-workflows.ts', import.meta.url)), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  const taskQueue = `floor-${process.pid}`;
  const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: { code }, activities: { noop: async (n: number) => n + 1 }, maxConcurrentActivityTaskExecutions: 64 });
  const running = worker.run();
  try {
    const start = (type: string, steps: number, heartbeat: boolean) => client.workflow.start(type, { taskQueue, workflowId: `${type}-${process.pid}-${Date.now()}`, args: [steps, heartbeat] });
    const time = async (type: string, steps: number, heartbeat: boolean) => {
      const started = performance.now();
      await (await start(type, steps, heartbeat)).result();
      return performance.now() - started;
    };
    // Warm-up, as Capsule's runners get: a sequential run and a fan-out.
    await time('sequentialNoop', SEQUENTIAL_STEPS, false);
    await time('fanOutNoop', FAN_OUT, false);
    const results: FloorResult[] = [];
    for (const heartbeat of [false, true]) {
      const sequential = await time('sequentialNoop', SEQUENTIAL_STEPS, heartbeat);
      // As Capsule's fan-out is measured: from the first activity scheduled to the last completed, in history.
      const { result: history, cpu } = await measureCpu(serverPid, FAN_OUT, async () => {
        const handle = await start('fanOutNoop', FAN_OUT, heartbeat);
        await handle.result();
        return handle.fetchHistory();
      });
      const fanMs = fanOutSpan(history);
      results.push({ heartbeatTimeout: heartbeat, sequentialPerStepMs: Math.round(sequential / SEQUENTIAL_STEPS), fanOutStepsPerSecond: Math.round((FAN_OUT / fanMs) * 1000), fanOutCpu: cpu });
    }
    return results;
  } finally {
    worker.shutdown();
    await running;
  }
}

/** The floor on a dev server of its own. */
export async function runTemporalFloor(): Promise<FloorResult[]> {
  installRuntime('ERROR');
  const server = await startDevServer({ binary: await findTemporalBinary(), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  try {
    return await measureFloor({ client: new Client({ connection }), native, serverPid: server.pid });
  } finally {
    await native.close();
    await connection.close();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await runTemporalFloor())}\n`);
}
