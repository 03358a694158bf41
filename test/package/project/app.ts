// A user's program against the installed package: a worker of its own with CapsulePlugin, and the host API.
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Capsule, type Envelope, type RunEvent } from 'capsule';
import { CapsulePlugin } from 'capsule/worker';

const taskQueue = process.env.CAPSULE_TASK_QUEUE!;
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({ connection, taskQueue, workflowsPath: path.resolve('workflows.ts'), plugins: [new CapsulePlugin()] });
const running = worker.run();
const capsule = await Capsule.connect();
try {
  const ts: Envelope = await capsule.exec('./tasks/hello.ts', { name: 'Ada' });
  const py = await capsule.exec({ language: 'python', source: 'def main(input):\n    return input["n"] * 2\n' }, { n: 21 }, { compute: 'LOW' });
  const run = await capsule.run('./pipeline.yaml', { name: 'Bob' });
  const events: RunEvent[] = [];
  for await (const event of run.progress()) events.push(event);
  const pipeline = await run.result();
  const mine = await capsule.start('greetTwice', { tasks: { hello: './tasks/hello.ts' }, input: { name: 'Cy' } });
  const workflow = await mine.result();
  console.log(JSON.stringify({ ts: ts.result, py: py.result, pipeline: { id: run.id, status: pipeline.status, output: pipeline.output }, events, workflow: { status: workflow.status, output: workflow.output } }));
} finally {
  await capsule.close();
  worker.shutdown();
  await running;
  await connection.close();
}
