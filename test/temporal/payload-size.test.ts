import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_PAYLOAD_BUDGET_BYTES } from '../../src/activities/run-task.js';
import { createHarness, TASKS, type Harness } from './helpers.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  await harness.replayAll();
  await harness.close();
});

describe('step records and Temporal\'s payload limit', () => {
  it('cuts captured output to fit, keeping the result and marking the record truncated', async () => {
    const file = harness.writePipeline({ name: 'big-output', steps: [{ id: 'chatty', task: `${TASKS}big-output.ts` }] });
    const outcome = await harness.run(file);
    expect(outcome.status).toBe('succeeded');
    const envelope = outcome.result!.steps[0]!.envelope!;
    expect(envelope.result).toBe('still here');
    expect(envelope.execution.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(envelope))).toBeLessThanOrEqual(STEP_PAYLOAD_BUDGET_BYTES);
    expect(envelope.execution.stdout).toMatch(/bytes of output cut to fit the envelope/);
  });

  it('fails a step whose result alone is too large, at once and with a clear message', async () => {
    const file = harness.writePipeline({ name: 'huge-result', steps: [{ id: 'huge', task: `${TASKS}big-output.ts#huge` }] });
    const outcome = await harness.run(file);
    expect(outcome.status).toBe('failed');
    const step = outcome.result!.steps[0]!;
    expect(step.attempts).toBe(1);
    expect(JSON.stringify(step)).toContain('more than a step can record in Temporal');
  });
});
