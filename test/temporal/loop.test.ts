/**
 * A code-first loop of 5,000 steps (src/workflows/agent-loop.ts on createSteps().loop()) completes on a real
 * server: the workflow continues as new whenever Temporal suggests it, so every run's history stays bounded, and
 * the loop's state and totals carry across runs.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { result as resultCommand } from '../../src/cli/commands/result.js';
import { startTaskWorkflow } from '../../src/client/task-workflow.js';
import type { PipelineResult } from '../../src/workflows/shared.js';
import { createHarness, TASKS, type Harness } from './helpers.js';
import { waitFor } from './processes.js';

/** 100 turns, all but the last asking for 50 tool calls run in parallel: 5,050 steps (an environment variable scales it down for quick runs). */
const TURNS = Number(process.env.CAPSULE_LOOP_TEST_TURNS ?? 100);
const TOOLS_PER_TURN = 50;
const STEPS = TURNS + (TURNS - 1) * TOOLS_PER_TURN;

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

it(`runs an agent loop of ${STEPS} steps (${TURNS} turns) to completion, continuing as new with bounded history per run`, async () => {
  const taskQueue = h.queue('loop');
  const worker = await h.startWorker(taskQueue, undefined, { cached: true });
  const workflowId = `loop-${taskQueue}`;
  try {
    const handle = await startTaskWorkflow(h.client, {
      workflowType: 'agentLoop',
      workflowId,
      taskQueue,
      name: 'counter',
      input: { goal: { turns: TURNS, toolsPerTurn: TOOLS_PER_TURN }, maxTurns: TURNS + 10 },
      tasks: { turn: `${TASKS}loop.ts#turn`, tool: `${TASKS}loop.ts#tool` },
      baseDir: TASKS,
      describer: h.sandbox,
    });
    const result = (await handle.result()) as PipelineResult;
    expect(result.status).toBe('succeeded');
    // Every tool result reached the next turn: the state carried across runs adds them all up.
    expect(result.output).toEqual({ total: STEPS, turns: TURNS });
    expect(result.totals.steps).toBe(STEPS);
    expect(result.earlier?.runs).toBeGreaterThanOrEqual(1);
    expect(result.earlier!.steps + result.steps.length).toBe(STEPS);
    expect(result.totals.fuel_consumed).toBeGreaterThan(0);

    // Every run of the chain: bounded history (Temporal suggests continuing as new at 4,096 events / 4 MB).
    // Visibility is eventually consistent: the last run's close (and its history size) is indexed after the result.
    const runs = await waitFor('every run of the chain closed in visibility', async () => {
      const listed: WorkflowExecutionInfo[] = [];
      for await (const run of h.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) listed.push(run);
      const closed = listed.length === result.earlier!.runs + 1 && listed.every((run) => run.status.name !== 'RUNNING' && run.historySize !== undefined);
      return closed ? listed : undefined;
    }, 30_000, 500);
    for (const run of runs) {
      expect(run.historyLength).toBeLessThan(5000);
      expect(run.historySize).toBeLessThan(4 * 1024 * 1024);
    }
    expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW')).toHaveLength(result.earlier!.runs);

    // A step of an earlier run is still found (following the chain back): turn 0 ran in the first run.
    const out: string[] = [];
    const io = { cwd: TASKS, out: (l: string) => out.push(l), err: () => {}, tty: false, env: { ...process.env, TEMPORAL_ADDRESS: h.address } };
    expect(await resultCommand({ workflowId, step: 'turn-0', json: true, io })).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ success: true, result: { state: { total: 1 } } });
  } finally {
    await worker.stop();
  }
}, 300_000);
