/**
 * The CLI under pressure, as subprocesses on the suite's server: a burst of `run --detach`, outputs of megabytes read
 * through a pipe, a 10 MB history, inputs too large for a command-line argument, and runs that cannot act on a
 * cancellation (no worker; failing workflow tasks) freed with `terminate`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome } from '../../src/client/outcome.js';
import { bundleTaskFile } from '../../src/sandbox/index.js';
import { DEFAULT_RETRY_TUNING, PIPELINE_WORKFLOW } from '../../src/workflows/shared.js';
import { createHarness, TASKS, type Harness } from './helpers.js';
import { makeData } from './fixtures/tasks/make-data.js';
import { capsule, waitFor } from './processes.js';

const steps = path.join(TASKS, 'steps.ts');
const data = `${path.join(TASKS, 'large-data.ts')}#produce`;

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await createHarness();
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-pressure-'));
  mkdirSync(path.join(dir, 'data')); // large-data.ts declares ./data for one of its tasks
});
afterAll(async () => {
  await h.replayAll();
  await h.close();
});

function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const envFor = (taskQueue: string) => ({ TEMPORAL_ADDRESS: h.address, CAPSULE_TASK_QUEUE: taskQueue });

/** A workflow that no worker will ever run (its queue has none), for history and cancel tests. */
async function unattended(label: string, input: unknown = {}): Promise<{ handle: WorkflowHandle; taskQueue: string }> {
  const taskQueue = h.queue(label);
  const handle = await h.client.workflow.start(PIPELINE_WORKFLOW, { taskQueue, workflowId: `${label}-${taskQueue}`, args: [input] });
  return { handle, taskQueue };
}

/**
 * A hand-made pipeline input that keeps the workflow contract but whose step input is no template Capsule reads:
 * rendering it throws in workflow code, so each workflow task fails and is retried forever.
 */
async function unreadable(): Promise<unknown> {
  const options = (await h.sandbox.describe(await bundleTaskFile(steps), { baseDir: dir })).get('main')!;
  return {
    name: 'stuck', source: 'stuck.json', input: {}, bundles: {}, baseDir: dir, defaults: {}, retry: DEFAULT_RETRY_TUNING, searchAttributes: false,
    steps: [{ id: 'one', task: { bundle: 'c'.repeat(64), task: 'main', options, maxLostAttempts: 0 }, input: '{{ not a reference }}', dependsOn: [], onFailure: 'fail' }],
  };
}

describe('the CLI under pressure', () => {
  it('submits 20 concurrent `capsule run --detach` on the 2-core machine, every one of them', { timeout: 300_000 }, async () => {
    const taskQueue = h.queue('burst');
    write('burst.json', { name: 'burst', steps: [{ id: 'one', task: steps, input: '{{ input }}' }] });
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => capsule(['run', 'burst.json', '--detach', '--json', '--input', JSON.stringify({ n: i })], dir, envFor(taskQueue))));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const ids = runs.map((run) => (JSON.parse(run.stdout) as { workflowId: string; status: string }).workflowId);
    expect(new Set(ids).size).toBe(20);
    // All of them wait on the server; terminate clears them away (no worker polls this queue).
    for (const id of ids) {
      const handle = h.client.workflow.getHandle(id);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test cleanup');
    }
  });

  it('writes the whole --json output into a pipe: a 1 MB result from exec, a 2 MB pipeline result', async () => {
    const [file, task] = data.split('#') as [string, string];
    const exec = await capsule(['exec', file, '--task', task, '--input', '{"seed":7,"mb":1}', '--json'], dir);
    expect(exec.code, exec.stderr).toBe(0);
    expect((JSON.parse(exec.stdout) as { result: string }).result).toBe(makeData(7, 1));

    const taskQueue = h.queue('big-result');
    const worker = await h.startWorker(taskQueue);
    try {
      write('big.json', { name: 'big-result', steps: [{ id: 'produce', task: data, input: { seed: 3, mb: 2 } }] });
      const run = await capsule(['run', 'big.json', '--detach', '--json'], dir, envFor(taskQueue));
      expect(run.code, run.stderr).toBe(0);
      const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
      h.record(workflowId);
      const result = await capsule(['result', workflowId, '--json'], dir, envFor(taskQueue));
      expect(result.code, result.stderr).toBe(0);
      expect((JSON.parse(result.stdout) as { output: string }).output).toBe(makeData(3, 2));
    } finally {
      await worker.stop();
    }
  });

  it('prints and exports a 10 MB history', async () => {
    const { handle, taskQueue } = await unattended('big-history');
    // Signals sent without Capsule's claim-check, so each 1 MB value is in the history itself.
    const raw = new Client({ connection: h.client.connection });
    const payload = 'h'.repeat(1_000_000);
    for (let i = 0; i < 10; i++) await raw.workflow.getHandle(handle.workflowId).signal('capsule.test.ballast', `${i}${payload}`);
    const lines = await capsule(['history', handle.workflowId], dir, envFor(taskQueue));
    expect(lines.code, lines.stderr).toBe(0);
    expect(lines.stdout.match(/\tWORKFLOW_EXECUTION_SIGNALED/g)).toHaveLength(10);
    const exported = await capsule(['history', handle.workflowId, '--json'], dir, envFor(taskQueue));
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.length).toBeGreaterThan(10_000_000);
    const events = (JSON.parse(exported.stdout) as { events: { eventType: string }[] }).events;
    expect(events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED')).toHaveLength(10);
    await handle.terminate('test cleanup');
  });

  it('says when a run cannot act on a cancellation (no worker), and terminate frees it', async () => {
    const { handle, taskQueue } = await unattended('no-worker');
    const cancelled = await capsule(['cancel', handle.workflowId], dir, envFor(taskQueue));
    expect(cancelled.code).toBe(1);
    expect(cancelled.stderr).toContain(`cancellation requested for ${handle.workflowId}, but the run cannot act on it: no worker polls its task queue "${taskQueue}"`);
    expect(cancelled.stderr).toContain(`capsule terminate ${handle.workflowId}`);
    const terminated = await capsule(['terminate', handle.workflowId, '--reason', 'nobody runs it'], dir, envFor(taskQueue));
    expect(terminated.code, terminated.stderr).toBe(0);
    expect(terminated.stdout).toContain(`terminated ${handle.workflowId} (reason: nobody runs it)`);
    const description = await handle.describe();
    expect(description.status.name).toBe('TERMINATED');
    expect((await capsule(['history', handle.workflowId], dir, envFor(taskQueue))).stdout).toMatch(/WORKFLOW_EXECUTION_TERMINATED\tnobody runs it/);
    const again = await capsule(['terminate', handle.workflowId], dir, envFor(taskQueue));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already closed (TERMINATED)');
  });

  it('says when a run cannot act on a cancellation (its workflow tasks fail), and terminate frees the stuck run', async () => {
    // A pipeline workflow whose code cannot go on: each workflow task fails, and is retried forever.
    const { handle, taskQueue } = await unattended('stuck', await unreadable());
    const worker = await h.startWorker(taskQueue);
    try {
      await waitFor('the workflow task to fail twice', async () => (((await handle.describe()).raw.pendingWorkflowTask?.attempt ?? 0) > 1 ? true : undefined));
      const cancelled = await capsule(['cancel', handle.workflowId], dir, envFor(taskQueue));
      expect(cancelled.code).toBe(1);
      expect(cancelled.stderr).toMatch(/the run cannot act on it: its workflow tasks are failing \(attempt \d+\)/);
      const terminated = await capsule(['terminate', handle.workflowId], dir, envFor(taskQueue));
      expect(terminated.code, terminated.stderr).toBe(0);
      const outcome = await awaitOutcome(handle);
      expect(outcome).toMatchObject({ status: 'terminated', message: 'terminated with capsule terminate' });
    } finally {
      await worker.stop();
    }
  });

  it('takes inputs of any size from --input-file and from standard input (--input -)', async () => {
    const input = { text: 'i'.repeat(300_000) }; // more than one command-line argument may carry (128 KB)
    write('input.json', input);
    const fromFile = await capsule(['exec', steps, '--input-file', 'input.json', '--json'], dir);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout).result).toEqual({ step: 'main', input });
    const fromStdin = await capsule(['exec', steps, '--input', '-', '--json'], dir, {}, JSON.stringify(input));
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout).result).toEqual({ step: 'main', input });

    const taskQueue = h.queue('input-file');
    const worker = await h.startWorker(taskQueue);
    try {
      write('echo.json', { name: 'echo', steps: [{ id: 'one', task: steps, input: '{{ input }}' }] });
      const run = await capsule(['run', 'echo.json', '--input', '-', '--detach', '--json'], dir, envFor(taskQueue), JSON.stringify(input));
      expect(run.code, run.stderr).toBe(0);
      const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
      h.record(workflowId);
      const outcome = await awaitOutcome(h.client.workflow.getHandle(workflowId));
      expect(outcome.result?.output).toEqual({ step: 'main', input });
    } finally {
      await worker.stop();
    }

    const both = await capsule(['run', 'echo.json', '--input', '{}', '--input-file', 'input.json'], dir, envFor(taskQueue));
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give the input with --input or with --input-file, not both');
    const missing = await capsule(['run', 'echo.json', '--input-file', 'nope.json'], dir, envFor(taskQueue));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--input-file nope.json: cannot read ${path.join(dir, 'nope.json')} (ENOENT)`);
    write('bad.json', '{ "text": ');
    const bad = await capsule(['exec', steps, '--input-file', 'bad.json'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--input-file bad.json: not valid JSON');
  });
});
