/** A hand-written workflow (src/workflows/review-loop.ts) chaining sandboxed tasks with loops and Promise.all. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTaskWorkflow } from '../../src/client/task-workflow.js';
import type { PipelineResult } from '../../src/workflows/shared.js';
import { createHarness, type Harness } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/review-loop/', import.meta.url));

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

it('runs a review loop: draft, parallel critiques, revise until approved', async () => {
  const taskQueue = h.queue('review');
  const worker = await h.startWorker(taskQueue);
  try {
    const handle = await startTaskWorkflow(h.client, {
      workflowType: 'reviewLoop',
      workflowId: `review-${taskQueue}`,
      taskQueue,
      name: 'review',
      input: { topic: 'sandboxes', critics: ['safety', 'cost'], maxRounds: 3 },
      tasks: { draft: './tasks/draft.ts', critique: './tasks/critique.ts' },
      baseDir: EXAMPLE,
      describer: h.sandbox,
    });
    const result: PipelineResult = await handle.result();
    expect(result.status).toBe('succeeded');
    expect(result.output).toMatchObject({ rounds: 2, draft: 'A short piece on sandboxes. Revised for: say more about safety; say more about cost.' });
    expect(result.steps.map((s) => s.id)).toEqual(['draft-1', 'critique-1-safety', 'critique-1-cost', 'draft-2', 'critique-2-safety', 'critique-2-cost']);
    expect(result.totals.steps).toBe(6);
    const history = await handle.fetchHistory();
    const { Worker } = await import('@temporalio/worker');
    await Worker.runReplayHistory({ workflowBundle: h.bundle, dataConverter: h.payloads.dataConverter }, history, handle.workflowId);
  } finally {
    await worker.stop();
  }
});
