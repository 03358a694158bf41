/**
 * The host API (src/host) in this process, against the test run's Temporal server: exec (task files, code given as
 * text, warm threads), run and start on a worker from `capsule/worker`'s createCapsuleWorker, and every bad input
 * it refuses (a clear error naming what and where, nothing left running).
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BundleError, Capsule, ClosedError, ConnectionConfigError, ExecOptionsError, ProgramError, ServerUnreachableError, UnknownWorkflowTypeError, WorkflowsFileError, type RunEvent } from '../../src/index.js';
import { COMPUTE_LEVELS } from '../../src/config/units.js';
import { TaskOptionsError } from '../../src/config/errors.js';
import { CapsulePlugin, createCapsuleWorker } from '../../src/worker/index.js';

const PROJECT = fileURLToPath(new URL('../package/project/', import.meta.url));
const taskQueue = `host-${process.pid}`;
const env = (): Record<string, string | undefined> => ({ ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), CAPSULE_TASK_QUEUE: taskQueue });

let capsule: Capsule;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  worker = await createCapsuleWorker({ cwd: PROJECT, env: env(), workflowsPath: 'workflows.ts' });
  running = worker.run();
  capsule = await Capsule.connect({ cwd: PROJECT, env: env() });
}, 180_000);

afterAll(async () => {
  await capsule?.close();
  worker?.shutdown();
  await running;
});

describe('exec', () => {
  it('runs a TypeScript task file and Python code given as text, threads reused across calls', async () => {
    const first = await capsule.exec('tasks/hello.ts', { name: 'Ada' });
    const second = await capsule.exec('tasks/hello.ts', { name: 'Bob' });
    expect([first.result, second.result]).toEqual([{ greeting: 'Hello, Ada!' }, { greeting: 'Hello, Bob!' }]);
    const py = await capsule.exec({ language: 'python', source: 'def main(input):\n    return input["n"] * 2\n' }, { n: 21 }, { compute: 'LOW' });
    expect(py).toMatchObject({ success: true, result: 42 });
  });

  it("takes a program's limits from the caller's options, never from its own declaration", async () => {
    const source = "import { task } from 'capsule';\nexport const main = task({ name: 'main', compute: 'HIGH', allowedHosts: ['example.com'] }, (n: number) => n + 1);\n";
    const envelope = await capsule.exec({ language: 'typescript', source }, 1, { compute: 'LOW' });
    expect(envelope.result).toBe(2);
    expect(envelope.execution.fuel_limit).toBe(COMPUTE_LEVELS.LOW);
    const python = 'from capsule import task\n\n@task(name="main", compute="HIGH")\ndef main(n):\n    return n + 1\n';
    const py = await capsule.exec({ language: 'python', source: python }, 1, { compute: 'LOW' });
    expect([py.result, py.execution.fuel_limit]).toEqual([2, COMPUTE_LEVELS.LOW]);
  });

  it('refuses a missing file, a file of no task language, a module without tasks, a task the file lacks', async () => {
    await expect(capsule.exec('tasks/missing.ts')).rejects.toThrow(BundleError);
    await expect(capsule.exec('tasks/missing.ts')).rejects.toThrow('tasks/missing.ts: no such file');
    await expect(capsule.exec('tasks/notes.txt')).rejects.toThrow(/tasks\/notes\.txt: expected a TypeScript, JavaScript or Python task file/);
    await expect(capsule.exec('tasks/nothing.ts')).rejects.toThrow(new TaskOptionsError(`${PROJECT}tasks/nothing.ts`, undefined, undefined, 'declares no tasks: export at least one task({ name, ... }, fn)'));
    await expect(capsule.exec('tasks/hello.ts', {}, { task: 'other' })).rejects.toThrow(new ExecOptionsError('tasks/hello.ts: no task named "other" (tasks: main)'));
  });

  it('refuses code without main, and limits given for a task file', async () => {
    const error = await capsule.exec({ language: 'javascript', source: 'const x = 1;' }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgramError);
    expect((error as ProgramError).message).toMatch(/^code given as text \(javascript\): the code defines no function named main/);
    expect((error as ProgramError).envelope.error?.error_type).toBe('invalid_task');
    await expect(capsule.exec({ language: 'python', source: 'x = 1\n' }, {})).rejects.toThrow(ProgramError);
    await expect(capsule.exec('tasks/hello.ts', {}, { compute: 'HIGH' })).rejects.toThrow("tasks/hello.ts: compute can only be given with code given as text; a task file's limits and capabilities are its task() declaration");
  });
});

describe('run and start', () => {
  it('runs a YAML pipeline: progress events, then the result with every step and its envelope', async () => {
    const run = await capsule.run('pipeline.yaml', { name: 'Bob' });
    expect(run.id).toMatch(/^installed-/);
    const events: RunEvent[] = [];
    for await (const event of run.progress()) events.push(event);
    expect(events.at(-1)).toEqual({ type: 'step', change: 'finished', step: 'hello', status: 'succeeded', attempt: 1 });
    const result = await run.result();
    expect(result).toMatchObject({ workflowId: run.id, status: 'succeeded', output: { greeting: 'Hello, Bob!' } });
    expect(result.steps[0]?.envelope).toMatchObject({ success: true, result: { greeting: 'Hello, Bob!' } });
  });

  it('runs a pipeline given as a value', async () => {
    const run = await capsule.run({ name: 'inline', steps: [{ id: 'hello', task: './tasks/hello.ts', input: { name: 'Di' } }] });
    expect((await run.result()).steps[0]?.envelope?.result).toEqual({ greeting: 'Hello, Di!' });
  });

  it("starts a workflow of the user's own on the worker that has it", async () => {
    const workflowId = `greet-${process.pid}`;
    const mine = await capsule.start('greetTwice', { tasks: { hello: './tasks/hello.ts' }, input: { name: 'Cy' }, workflowId });
    expect(await mine.result()).toMatchObject({ status: 'succeeded', output: { first: { greeting: 'Hello, Cy!' }, status: 'succeeded' } });
    // Replay safety: its history, and a pipeline's (Capsule's own workflow, which the plugin adds), replay on a
    // replay worker given only the plugin and the user's workflows file.
    const pipeline = await capsule.run('pipeline.yaml', { name: 'Replay' });
    await pipeline.result();
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection });
      const plugin = new CapsulePlugin({ cwd: PROJECT });
      for (const id of [workflowId, pipeline.id]) {
        const history = await client.workflow.getHandle(id).fetchHistory();
        await Worker.runReplayHistory({ workflowsPath: `${PROJECT}workflows.ts`, plugins: [plugin] }, history, id);
      }
      await plugin.close();
    } finally {
      await connection.close();
    }
  }, 120_000);

  it('cancels a run: the running step is stopped and the result says cancelled', async () => {
    const run = await capsule.run({ name: 'spin', steps: [{ id: 'spin', task: './tasks/spin.ts' }] });
    for await (const event of run.progress()) {
      if (event.type === 'step' && event.change === 'started') {
        await run.cancel();
        break;
      }
    }
    expect(await run.result()).toMatchObject({ workflowId: run.id, status: 'cancelled' });
  });

  it('refuses a workflow type the worker does not have, and terminates the run it started', async () => {
    const workflowId = `missing-${process.pid}`;
    const error = await capsule.start('noSuchWorkflow', { tasks: { hello: './tasks/hello.ts' }, input: {}, workflowId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownWorkflowTypeError);
    expect((error as Error).message).toBe(`no workflow "noSuchWorkflow" in the workflows of the workers polling task queue "${taskQueue}" (Capsule's own: pipeline, reviewLoop, agentLoop, codingAgent); run ${workflowId} was terminated`);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('TERMINATED');
    } finally {
      await connection.close();
    }
  });

  it('refuses a missing workflows file and a bad task before anything starts', async () => {
    await expect(capsule.start('greetTwice', { workflows: 'nope.ts', tasks: {}, input: {} })).rejects.toThrow(new WorkflowsFileError(`${PROJECT}nope.ts`, 'no such file'));
    await expect(capsule.start('greetTwice', { tasks: { hello: './tasks/missing.ts' }, input: {} })).rejects.toThrow(/tasks\.hello.*missing\.ts/);
  });
});

describe('connect and close', () => {
  it('names an unreachable server and where its address was set', async () => {
    const error = await Capsule.connect({ cwd: PROJECT, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toMatch(/^cannot reach the Temporal server at 127\.0\.0\.1:1 \(set by environment variable TEMPORAL_ADDRESS\): /);
  });

  it('refuses a malformed address before anything starts', async () => {
    await expect(Capsule.connect({ cwd: PROJECT, env: { ...process.env, TEMPORAL_ADDRESS: 'not an address' } })).rejects.toThrow(ConnectionConfigError);
  });

  it('refuses calls after close()', async () => {
    const other = await Capsule.connect({ cwd: PROJECT, env: { ...process.env, TEMPORAL_ADDRESS: undefined } });
    await other.close();
    await other.close();
    await expect(other.exec('tasks/hello.ts')).rejects.toThrow(ClosedError);
  });
});
