/**
 * One pipeline mixing TypeScript and Python steps on a real dev server: Python steps run in the Python runner with
 * the same retries, limits, envelope and history as TypeScript ones, and data flows between them as JSON.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityTimeline, createHarness, TASKS, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  expect(await h.replayAll()).toBeGreaterThan(0);
  await h.close();
});

const ts = (name: string) => `${path.join(TASKS, 'steps.ts')}#${name}`;
const py = (name: string) => `${path.join(TASKS, 'steps.py')}#${name}`;

describe('a pipeline mixing TypeScript and Python steps', () => {
  it('fans out to Python, retries a flaky Python step, and combines in TypeScript', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-mixed-'));
    mkdirSync(path.join(base, 'state'));
    const file = h.writePipeline({
      name: 'mixed',
      input: { topic: 'wasm', n: 3 },
      retry: { initialInterval: '100ms', backoffCoefficient: 1, maximumInterval: '100ms' },
      steps: [
        { id: 'plan', task: ts('plan'), input: { topic: '{{ input.topic }}', n: '{{ input.n }}' } },
        { id: 'fetch', task: py('fetch'), forEach: '{{ steps.plan.output }}', input: { query: '{{ item }}', index: '{{ index }}' } },
        { id: 'flaky', task: py('flaky'), input: { key: 'mixed', succeedOn: 2 } },
        { id: 'combine', task: ts('combine'), input: { fetched: '{{ steps.fetch.output }}', side: '{{ steps.flaky.output.calls }}' } },
      ],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('succeeded');
    const result = outcome.result!;
    expect(result.output).toEqual({ total: 'wasm#0'.length * 3, count: 3, side: 2 });

    const step = (id: string) => result.steps.find((s) => s.id === id)!;
    expect((await h.envelopes(outcome)).get('fetch[1]')?.result).toEqual({ query: 'wasm#1', index: 1, length: 6, language: 'python' });
    expect(step('fetch[1]').execution?.task_name).toBe('fetch');
    expect(step('flaky').attempts).toBe(2);
    for (const s of result.steps) expect(s.execution?.fuel_consumed).toBeGreaterThan(0);

    const timeline = activityTimeline(await h.history(outcome.workflowId));
    const flaky = timeline.find((t) => t.stepId === 'flaky')!;
    expect(flaky).toMatchObject({ startedAttempt: 2, closed: 'completed' });
    for (let i = 0; i < 3; i++) expect(timeline.find((t) => t.stepId === `fetch[${i}]`)!.scheduledId).toBeGreaterThan(timeline.find((t) => t.stepId === 'plan')!.closedId!);
  });

  it('fails a Python step that runs out of fuel once, without retrying it, and reports fuel_exhausted', async () => {
    // The file's other tasks are validated too: flaky's read-write ./state must exist.
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-mixed-'));
    mkdirSync(path.join(base, 'state'));
    const file = h.writePipeline({ name: 'mixed-fuel', steps: [{ id: 'spin', task: py('spin') }] });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('failed');
    expect(outcome.result?.failedStep).toBe('spin');
    const spin = outcome.result!.steps.find((s) => s.id === 'spin')!;
    expect(spin.error?.error_type).toBe('fuel_exhausted');
    expect(spin.execution?.fuel_consumed).toBe(spin.execution?.fuel_limit);
    const timeline = activityTimeline(await h.history(outcome.workflowId));
    expect(timeline.filter((t) => t.stepId === 'spin')).toHaveLength(1);
  });
});
