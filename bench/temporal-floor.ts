/**
 * The floor under Capsule's Temporal numbers: the same shapes (20 sequential steps, a 500-step fan-out) with a
 * no-op activity and a bare workflow, on the same dev server and worker settings. Whatever Capsule adds is the
 * difference from this. Run: `node --import tsx bench/temporal-floor.ts`.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';
import { installRuntime } from '../src/client/runtime.js';

export interface FloorResult { heartbeatTimeout: boolean; sequentialPerStepMs: number; fanOutStepsPerSecond: number }

export async function runTemporalFloor(): Promise<FloorResult[]> {
  installRuntime('ERROR');
  const server = await startDevServer({ binary: await findTemporalBinary(), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const { code } = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./temporal-floor-workflows.ts', import.meta.url)), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  const worker = await Worker.create({ connection: native, taskQueue: 'floor', workflowBundle: { code }, activities: { noop: async (n: number) => n + 1 }, maxConcurrentActivityTaskExecutions: 64 });
  const running = worker.run();
  try {
    const time = async (type: string, steps: number, heartbeat: boolean) => {
      const started = performance.now();
      await client.workflow.execute(type, { taskQueue: 'floor', workflowId: `${type}-${Date.now()}`, args: [steps, heartbeat] });
      return performance.now() - started;
    };
    await time('sequentialNoop', 20, false); // warm-up
    const results: FloorResult[] = [];
    for (const heartbeat of [false, true]) {
      const sequential = await time('sequentialNoop', 20, heartbeat);
      const fanOut = await time('fanOutNoop', 500, heartbeat);
      results.push({ heartbeatTimeout: heartbeat, sequentialPerStepMs: Math.round(sequential / 20), fanOutStepsPerSecond: Math.round(500 / (fanOut / 1000)) });
    }
    return results;
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await runTemporalFloor())}\n`);
}
