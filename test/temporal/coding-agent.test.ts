/**
 * examples/coding-agent end to end on the real dev server, against its deterministic mock model server: the YAML
 * pipeline (write, run, review, ship) decided with `capsule approve` as a subprocess, and the code-first
 * codingAgent workflow feeding a failed run's error back to the model.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awaitOutcome } from '../../src/client/outcome.js';
import { startTaskWorkflow } from '../../src/client/task-workflow.js';
import { PROGRESS_QUERY, type PipelineProgress, type PipelineResult } from '../../src/workflows/shared.js';
import { startMockLlm, type MockLlm } from '../../examples/coding-agent/mock-llm.js';
import { createHarness, type Harness } from './helpers.js';
import { capsule, cleanEnv, CLI, waitFor } from './processes.js';
import { approveStep } from '../../src/client/approve.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/coding-agent/', import.meta.url));

let h: Harness;
let mock: MockLlm;
beforeAll(async () => {
  mock = await startMockLlm();
  process.env.OPENAI_BASE_URL = mock.url;
  process.env.OPENAI_API_KEY = 'mock-key';
  h = await createHarness();
});
afterAll(async () => {
  expect(await h.replayAll()).toBeGreaterThan(0);
  await h.close();
  await mock.close();
});

it('the pipeline writes code, runs it, waits for `capsule approve`, then ships', async () => {
  const queue = h.queue('coding-agent');
  const worker = await h.startWorker(queue);
  try {
    const { handle } = await h.start(`${EXAMPLE}pipeline.yaml`, queue, { baseDir: EXAMPLE, input: { model: 'coder', goal: 'sums squares', n: 5 } });
    await waitFor('the review step to wait', async () => {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY).catch(() => undefined);
      return progress?.steps.find((s) => s.id === 'review' && s.status === 'awaiting_approval');
    });
    const env = { TEMPORAL_ADDRESS: h.address };
    const status = await capsule(['status', handle.workflowId], EXAMPLE, env);
    expect(status.stdout).toContain('awaiting_approval');
    expect(status.stdout).toContain('waiting: Ship the result {"sum_of_squares":55}?');

    const approved = await capsule(['approve', handle.workflowId, 'review', '--by', 'ada', '--comment', 'ship it'], EXAMPLE, env);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^${handle.workflowId}: step review approved by ada at `));
    const outcome = await awaitOutcome(handle);
    // A decision after the run finished is refused as such (a second one while it runs: agent-steps.test.ts).
    const again = await capsule(['approve', handle.workflowId, 'review', '--reject'], EXAMPLE, env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/error: .* has already finished \(COMPLETED\): no step waits for a decision/);

    expect(outcome.status).toBe('succeeded');
    expect(outcome.result!.output).toEqual({
      result: { sum_of_squares: 55 },
      review: { approved: true, by: 'ada', comment: 'ship it', at: expect.any(String) },
      shipped: { shipped: true, result: { sum_of_squares: 55 }, approvedBy: 'ada' },
    });
    const skipped = outcome.result!.steps.find((s) => s.id === 'report-rejection');
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'when {{ not steps.review.output.approved }} is false' });
  } finally {
    await worker.stop();
  }
});

it('the code-first agent loop feeds a failed run\'s error back to the model and succeeds in the next round', async () => {
  const queue = h.queue('agent-loop');
  const worker = await h.startWorker(queue);
  try {
    const handle = await startTaskWorkflow(h.client, {
      workflowType: 'codingAgent',
      workflowId: `coding-agent-${queue}`,
      taskQueue: queue,
      name: 'coding-agent',
      input: { goal: 'sums squares [buggy]', model: 'coder', language: 'python', input: { n: 3 }, maxRounds: 3 },
      tasks: {},
      baseDir: EXAMPLE,
      describer: h.sandbox,
    });
    h.record(handle.workflowId);
    const result: PipelineResult = await handle.result();
    expect(result.status).toBe('succeeded');
    expect(result.output).toMatchObject({ rounds: 2, output: { sum_of_squares: 14 } });
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([['write-1', 'succeeded'], ['run-1', 'failed'], ['write-2', 'succeeded'], ['run-2', 'succeeded']]);
    expect(result.steps[1]!.error).toMatchObject({ error_type: 'task_error', message: expect.stringContaining("KeyError") });
    // The second prompt carried the first run's error.
    const second = mock.requests.filter((r) => r.model === 'coder').at(-1)!;
    expect(second.messages.at(-1)!.content).toContain("Error: task_error: ");
  } finally {
    await worker.stop();
  }
});

it('`capsule run` (no terminal) says which step awaits approval and how to decide it, then finishes once decided', async () => {
  const queue = h.queue('run-approve');
  const worker = await h.startWorker(queue);
  const child = spawn(process.execPath, [CLI, 'run', 'pipeline.yaml', '--input', '{"model":"coder","goal":"sums squares","n":2}'], {
    cwd: EXAMPLE,
    env: cleanEnv({ TEMPORAL_ADDRESS: h.address, CAPSULE_TASK_QUEUE: queue }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const line = await waitFor('capsule run to name the waiting step', () => /decide with: capsule approve (\S+) review/.exec(stdout + stderr) ?? undefined, 60_000);
    expect(stdout + stderr).toContain('step review: awaiting_approval — waiting: Ship the result {"sum_of_squares":5}?');
    h.record(line[1]!);
    await approveStep(h.client.workflow.getHandle(line[1]!), { stepId: 'review', approved: false, by: 'ci', comment: 'no' });
    expect(await exited).toBe(0);
    // The final table: the decision, and the branch `when` skipped with its reason.
    expect(stdout).toMatch(/review +succeeded .* rejected by ci: no/);
    expect(stdout).toMatch(/ship +skipped .* when \{\{ steps\.review\.output\.approved \}\} is false/);
    expect(stdout).toMatch(/report-rejection +succeeded/);
    expect(stdout).toContain('"shipped": null');
  } finally {
    child.kill('SIGKILL');
    await worker.stop();
  }
});
