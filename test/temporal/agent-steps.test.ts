/**
 * Agent pipelines on the real dev server with real sandboxes: llm steps against the deterministic mock server
 * (examples/coding-agent/mock-llm.ts), code steps in each language, approval steps decided through the `approve`
 * update (and after a worker was killed mid-wait), and `when`.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { approveStep } from '../../src/client/approve.js';
import { ApprovalRefusedError } from '../../src/client/errors.js';
import { pickPort, startDevServer } from '../../src/client/dev-server.js';
import { awaitOutcome } from '../../src/client/outcome.js';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import { PROGRESS_QUERY, type PipelineProgress, type StepRecord } from '../../src/workflows/shared.js';
import { startMockLlm, type MockLlm } from '../../examples/coding-agent/mock-llm.js';
import { createHarness, type Harness } from './helpers.js';
import { spawnCapsuleWorker, waitFor } from './processes.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/coding-agent/', import.meta.url));
const KEY = 'sk-capsule-test-key-4f1b9c0e7d2a';
const fastRetry = { initialInterval: '100ms', backoffCoefficient: 1, maximumInterval: '100ms' };

let h: Harness;
let mock: MockLlm;
beforeAll(async () => {
  mock = await startMockLlm();
  // The worker's own settings (config/llm.ts); a `capsule worker` subprocess inherits them.
  process.env.OPENAI_BASE_URL = mock.url;
  process.env.OPENAI_API_KEY = KEY;
  h = await createHarness();
});
afterAll(async () => {
  expect(await h.replayAll()).toBeGreaterThan(0);
  await h.close();
  await mock.close();
});

const byId = (steps: StepRecord[] | undefined, id: string) => steps?.find((s) => s.id === id);

/** Everything in a history as text, with every byte field (payloads: JSON, uncompressed at these sizes) decoded too. */
function historyText(history: unknown): string {
  const text = JSON.stringify(history);
  const decoded = [...text.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  return `${text}\n${decoded.join('\n')}`;
}

describe('llm steps', () => {
  it('text and json replies, with model, usage, latency and finish reason recorded; the key is nowhere in the history', async () => {
    const file = h.writePipeline({
      name: 'llm-basic',
      input: { topic: 'sandboxes' },
      steps: [
        { id: 'echo', llm: { model: 'echo', system: 'Be brief.', prompt: 'Say something about {{ input.topic }}' } },
        { id: 'write', llm: { model: 'coder', prompt: 'Write main(input). After: {{ steps.echo.output }}', output: 'json', schema: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } } },
      ],
      output: { echo: '{{ steps.echo.output }}', code: '{{ steps.write.output.code }}' },
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    const output = outcome.result!.output as { echo: string; code: string };
    expect(output.echo).toBe('Say something about sandboxes');
    expect(output.code).toContain('def main(input)');
    const echo = byId(outcome.result!.steps, 'echo')!;
    expect(echo.llm).toEqual({ model: 'echo', usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 }, latency_ms: expect.any(Number), finish_reason: 'stop' });
    expect(echo.attempts).toBe(1);
    // The mock saw the key (so the worker used it) ...
    expect(mock.requests.some((r) => r.authorization === `Bearer ${KEY}`)).toBe(true);
    // ... and the history of the run does not hold it anywhere.
    const text = historyText(await h.history(outcome.workflowId));
    expect(text).toContain('Say something about sandboxes');
    expect(text).not.toContain(KEY);
  });

  it('a 429 is retried after its Retry-After, then succeeds; a 400 is not retried', async () => {
    const file = h.writePipeline({
      name: 'llm-retry',
      retry: fastRetry,
      steps: [
        { id: 'limited', llm: { model: 'rate-limited', prompt: 'once more {{ input.n }}' } },
        { id: 'flaky', llm: { model: 'flaky', prompt: 'and again {{ input.n }}' } },
      ],
      input: { n: Date.now() },
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    expect(byId(outcome.result!.steps, 'limited')!.attempts).toBe(2);
    expect(byId(outcome.result!.steps, 'flaky')!.attempts).toBe(2);

    const before = mock.requests.filter((r) => r.model === 'rejected').length;
    const rejected = await h.run(h.writePipeline({ name: 'llm-rejected', retry: fastRetry, steps: [{ id: 'ask', llm: { model: 'rejected', prompt: 'hello' } }] }));
    expect(rejected.status).toBe('failed');
    expect(rejected.result!.failedStep).toBe('ask');
    expect(byId(rejected.result!.steps, 'ask')!.failure).toMatch(/^llm_request_rejected: step "ask": 400/);
    expect(mock.requests.filter((r) => r.model === 'rejected').length - before).toBe(1);
  });

  it('output json that is not JSON, or breaks the schema, fails the step without a retry', async () => {
    const outcome = await h.run(h.writePipeline({ name: 'llm-not-json', retry: fastRetry, steps: [{ id: 'ask', llm: { model: 'not-json', prompt: 'code please' , output: 'json' } }] }));
    expect(outcome.status).toBe('failed');
    expect(byId(outcome.result!.steps, 'ask')!.failure).toMatch(/^llm_invalid_output: step "ask": the reply is not JSON/);
    expect(mock.requests.filter((r) => r.model === 'not-json')).toHaveLength(1);
    // JSON that breaks the step's schema fails the same way (echo replies with the prompt: {"code": 3}).
    const schema = { type: 'object', required: ['code'], properties: { code: { type: 'string' } } };
    const wrong = await h.run(h.writePipeline({ name: 'llm-schema', retry: fastRetry, steps: [{ id: 'ask', llm: { model: 'echo', prompt: '{"code": 3}', output: 'json', schema } }] }));
    expect(wrong.status).toBe('failed');
    expect(byId(wrong.result!.steps, 'ask')!.failure).toMatch(/^llm_invalid_output: step "ask": the reply does not match the step's schema: \/code must be string/);
  });
});

describe('code steps', () => {
  const codeStep = (id: string, language: string, code: string, extra: object = {}) => ({ id, code, language, input: { n: 4 }, compute: 'LOW', timeout: '10s', ...extra });

  it('runs code from an earlier step in each language, recording language, sha256 and size', async () => {
    const file = h.writePipeline({
      name: 'code-langs',
      steps: [
        { id: 'py-src', llm: { model: 'coder', prompt: 'python please', output: 'json' } },
        { id: 'js-src', llm: { model: 'coder', system: 'You write javascript.', prompt: 'javascript please', output: 'json' } },
        codeStep('py', 'python', '{{ steps.py-src.output.code }}'),
        codeStep('js', 'javascript', '{{ steps.js-src.output.code }}'),
      ],
      output: { py: '{{ steps.py.output }}', js: '{{ steps.js.output }}' },
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result!.output).toEqual({ py: { sum_of_squares: 30 }, js: { sum_of_squares: 30 } });
    const py = byId(outcome.result!.steps, 'py')!;
    expect(py.code).toEqual({ language: 'python', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number) });
    expect(py.execution?.fuel_limit).toBe(100_000_000);
    // The source stays retrievable: it is the activity's input in history.
    const envelopes = await h.envelopes(outcome);
    expect(envelopes.get('js')?.code?.language).toBe('javascript');
    expect(historyText(await h.history(outcome.workflowId))).toContain('def main(input):');
  });

  it('in each language: fuel exhaustion and syntax errors fail the step for good; code declaring more than the step grants gets none of it', async () => {
    const greedy = [
      "import { task } from 'capsule';",
      "export const main = task({ name: 'main', compute: 'HIGH', allowedHosts: ['example.com'], envVariables: ['HOME'] }, async () => {",
      '  let fetched = "no";',
      "  try { await fetch('https://example.com/'); fetched = 'yes'; } catch (e) { fetched = 'refused'; }",
      '  return { fetched, home: process.env.HOME ?? null };',
      '});',
    ].join('\n');
    const greedyPython = [
      'import os, urllib.request',
      'from capsule import task',
      '',
      '@task(name="main", compute="HIGH", allowed_hosts=["example.com"], env_variables=["HOME"])',
      'def main(input):',
      '    try:',
      '        urllib.request.urlopen("https://example.com/")',
      '        fetched = "yes"',
      '    except Exception:',
      '        fetched = "refused"',
      '    return {"fetched": fetched, "home": os.environ.get("HOME")}',
    ].join('\n');
    const file = h.writePipeline({
      name: 'code-failures',
      retry: fastRetry,
      steps: [
        codeStep('spin', 'python', 'def main(input):\n    while True:\n        pass\n', { onFailure: 'continue', maxRetries: 2 }),
        codeStep('broken-py', 'python', 'def main(input):\n    return (1 +\n', { onFailure: 'continue', maxRetries: 2 }),
        codeStep('broken-js', 'javascript', 'function main(input) {\n  return {;\n}\n', { onFailure: 'continue', maxRetries: 2 }),
        codeStep('spin-js', 'javascript', 'function main(input) {\n  for (;;) {}\n}\n', { onFailure: 'continue', maxRetries: 2 }),
        codeStep('greedy', 'javascript', greedy),
        codeStep('greedy-py', 'python', greedyPython),
      ],
      output: { js: '{{ steps.greedy.output }}', py: '{{ steps.greedy-py.output }}' },
    });
    const outcome = await h.run(file);
    expect(outcome.status).toBe('succeeded');
    const steps = outcome.result!.steps;
    expect(byId(steps, 'spin')).toMatchObject({ status: 'failed', attempts: 1, error: { error_type: 'fuel_exhausted' } });
    expect(byId(steps, 'spin-js')).toMatchObject({ status: 'failed', attempts: 1, error: { error_type: 'fuel_exhausted' } });
    expect(byId(steps, 'broken-py')).toMatchObject({ status: 'failed', attempts: 1, error: { error_type: 'invalid_task' } });
    expect(byId(steps, 'broken-py')!.error!.message).toMatch(/line 2|line 3/);
    expect(byId(steps, 'broken-js')).toMatchObject({ status: 'failed', attempts: 1, error: { error_type: 'invalid_task' } });
    expect(byId(steps, 'broken-js')!.error!.message).toMatch(/:2:/);
    // The code asked for a host, a variable and HIGH compute: it ran with the step's (none, none, LOW).
    expect(outcome.result!.output).toEqual({ js: { fetched: 'refused', home: null }, py: { fetched: 'refused', home: null } });
    for (const id of ['greedy', 'greedy-py']) {
      const record = byId(steps, id)!;
      expect(record.execution?.fuel_limit).toBe(100_000_000);
      expect(record.execution?.denials).toBeGreaterThan(0);
      expect(record.code?.ignored_options).toEqual(expect.arrayContaining(['compute', 'allowedHosts', 'envVariables']));
    }
  });
});

async function waitingFor(handle: WorkflowHandle, stepId: string): Promise<StepRecord> {
  return waitFor(`step ${stepId} to await approval`, async () => {
    try {
      const progress = await handle.query<PipelineProgress>(PROGRESS_QUERY);
      return progress.steps.find((s) => s.id === stepId && s.status === 'awaiting_approval');
    } catch {
      return undefined;
    }
  });
}

const approvalPipeline = (name: string, approval: object) => ({
  name,
  input: { value: 42 },
  steps: [
    { id: 'review', approval: { prompt: 'Ship {{ input.value }}?', ...approval } },
    { id: 'ship', when: '{{ steps.review.output.approved }}', llm: { model: 'echo', prompt: 'shipping {{ input.value }}' } },
    { id: 'undo', when: '{{ not steps.review.output.approved }}', llm: { model: 'echo', prompt: 'not shipping' } },
  ],
  output: { review: '{{ steps.review.output }}', ship: '{{ steps.ship.output }}', undo: '{{ steps.undo.output }}' },
});

describe('approval steps and when', () => {
  it('approved: waits as awaiting_approval with its prompt, the approve update decides, `when` runs one branch and skips the other', async () => {
    const queue = h.queue('approve');
    const worker = await h.startWorker(queue);
    try {
      const { handle } = await h.start(h.writePipeline(approvalPipeline('approval-yes', {})), queue);
      const waiting = await waitingFor(handle, 'review');
      expect(waiting.approval).toEqual({ prompt: 'Ship 42?' });
      const description = await handle.describe();
      expect(description.searchAttributes.CapsuleStatus).toEqual(['awaiting_approval']);
      // The Web UI's current details (the built-in query it asks): the prompt and the command, above the table.
      const waitingDetails = (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
      expect(waitingDetails).toContain(`**Awaiting approval: review** — Ship 42?\n\`capsule approve ${handle.workflowId} review\` (or \`--reject\`)`);
      expect(waitingDetails).toContain('| review | awaiting_approval |  |  |  |  | waiting: Ship 42? |');
      // Unknown steps and steps that are not waiting are refused by the validator.
      await expect(approveStep(handle, { stepId: 'nope', approved: true })).rejects.toThrow(/"nope" is not an approval step of this run \(its approval steps are: review\)/);
      const decision = await approveStep(handle, { stepId: 'review', approved: true, by: 'ada', comment: 'looks right' });
      expect(decision).toEqual({ approved: true, by: 'ada', comment: 'looks right', at: expect.any(String) });
      // A second decision is refused, naming the first.
      const second = await approveStep(handle, { stepId: 'review', approved: false, by: 'bob' }).then(() => undefined, (e: unknown) => e);
      expect(second).toBeInstanceOf(ApprovalRefusedError);
      expect((second as Error).message).toMatch(/step "review" was already decided: approved by ada at/);
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.output).toMatchObject({ review: { approved: true, by: 'ada', comment: 'looks right' }, ship: 'shipping 42', undo: null });
      expect(byId(outcome.result!.steps, 'undo')).toMatchObject({ status: 'skipped', reason: 'when {{ not steps.review.output.approved }} is false' });
      expect(byId(outcome.result!.steps, 'ship')!.status).toBe('succeeded');
      expect((await handle.describe()).searchAttributes.CapsuleStatus).toEqual(['Completed']);
      const details = (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
      expect(details).not.toContain('Awaiting approval');
      expect(details).toMatch(/\| ship \| succeeded \| 1 \| 0 \| \d+ ms \|  \| echo, \d+\+\d+ tokens, stop \|/);
      expect(details).toContain('| undo | skipped |  |  |  |  | when {{ not steps.review.output.approved }} is false |');
    } finally {
      await worker.stop();
    }
  });

  it('rejected: the other branch runs', async () => {
    const queue = h.queue('reject');
    const worker = await h.startWorker(queue);
    try {
      const { handle } = await h.start(h.writePipeline(approvalPipeline('approval-no', {})), queue);
      await waitingFor(handle, 'review');
      await approveStep(handle, { stepId: 'review', approved: false, comment: 'not yet' });
      const outcome = await awaitOutcome(handle);
      expect(outcome.result!.output).toMatchObject({ review: { approved: false, by: null, comment: 'not yet' }, ship: null, undo: 'not shipping' });
      expect(byId(outcome.result!.steps, 'ship')).toMatchObject({ status: 'skipped', reason: 'when {{ steps.review.output.approved }} is false' });
    } finally {
      await worker.stop();
    }
  });

  it('timed out: onTimeout decides (reject), or fails the step (fail)', async () => {
    const rejected = await h.run(h.writePipeline(approvalPipeline('approval-timeout', { timeout: '1s', onTimeout: 'reject' })));
    expect(rejected.status).toBe('succeeded');
    expect(rejected.result!.output).toMatchObject({ review: { approved: false, by: null, comment: 'no decision within 1s: rejected by onTimeout' }, undo: 'not shipping' });
    const failed = await h.run(h.writePipeline(approvalPipeline('approval-timeout-fail', { timeout: '1s', onTimeout: 'fail' })));
    expect(failed.status).toBe('failed');
    expect(failed.result!.failedStep).toBe('review');
    expect(byId(failed.result!.steps, 'review')!.failure).toBe('no decision within 1s (onTimeout: fail)');
  });

  it('is approved after the worker waiting on it was killed (SIGKILL) and the server killed and restarted', async () => {
    // A server of this test's own, on a SQLite file, so it can be killed and started again with its state.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-approval-restart-'));
    const dbFile = path.join(dir, 'temporal.db');
    const port = await pickPort();
    const binary = inject('temporalBinary');
    let server = await startDevServer({ binary, dbFile, port, headless: true });
    const queue = h.queue('approve-restart');
    const first = await spawnCapsuleWorker(server.address, queue, path.dirname(EXAMPLE));
    let second: Awaited<ReturnType<typeof spawnCapsuleWorker>> | undefined;
    let connection = await Connection.connect({ address: server.address });
    try {
      const input = await preparePipeline({ file: h.writePipeline(approvalPipeline('approval-restart', {})), cwd: dir, describer: h.sandbox });
      const started = await startPipeline(new Client({ connection }), input, { taskQueue: queue });
      await waitingFor(started, 'review');
      first.child.kill('SIGKILL');
      await first.exited;
      await connection.close();
      await server.kill();
      server = await startDevServer({ binary, dbFile, port, headless: true });
      connection = await Connection.connect({ address: server.address });
      second = await spawnCapsuleWorker(server.address, queue, path.dirname(EXAMPLE));
      const handle = new Client({ connection }).workflow.getHandle(started.workflowId);
      await waitingFor(handle, 'review');
      await approveStep(handle, { stepId: 'review', approved: true, by: 'after-restart' });
      const outcome = await awaitOutcome(handle);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result!.output).toMatchObject({ review: { approved: true, by: 'after-restart' }, ship: 'shipping 42' });
      const history = await handle.fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, handle.workflowId);
      // The worker that made the model call logged it, and not the key it used.
      expect(second.logs()).toContain('llm call');
      expect(second.logs()).not.toContain(KEY);
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      await second?.exited;
      await connection.close();
      await server.stop();
    }
  });

  it('a waiting approval is cancelled when another step fails the pipeline', async () => {
    const outcome = await h.run(h.writePipeline({
      name: 'approval-cancelled',
      retry: fastRetry,
      steps: [
        { id: 'review', approval: { prompt: 'ok?' } },
        { id: 'ask', llm: { model: 'rejected', prompt: 'fails at once' } },
      ],
    }));
    expect(outcome.status).toBe('failed');
    expect(outcome.result!.failedStep).toBe('ask');
    expect(byId(outcome.result!.steps, 'review')).toMatchObject({ status: 'cancelled', approval: { prompt: 'ok?' } });
  });

  it('a step depending on a skipped step is skipped too, unless onFailure is continue', async () => {
    const outcome = await h.run(h.writePipeline({
      name: 'when-chain',
      input: { go: false },
      steps: [
        { id: 'gate', when: '{{ input.go }}', llm: { model: 'echo', prompt: 'gated' } },
        { id: 'after', llm: { model: 'echo', prompt: 'after {{ steps.gate.output }}' } },
        { id: 'anyway', onFailure: 'continue', llm: { model: 'echo', prompt: 'anyway {{ steps.gate.output }}' } },
      ],
      output: { after: '{{ steps.after.output }}', anyway: '{{ steps.anyway.output }}' },
    }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result!.output).toEqual({ after: null, anyway: 'anyway null' });
    expect(byId(outcome.result!.steps, 'gate')).toMatchObject({ status: 'skipped', reason: 'when {{ input.go }} is false' });
    expect(byId(outcome.result!.steps, 'after')!.reason).toMatch(/step "gate", which it depends on, was skipped/);
  });
});
