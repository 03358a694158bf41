/**
 * An agent loop of any length. Each turn, task "turn" gets `{ goal, turn, state, results }` and returns one of:
 *   { done: output }                              the loop's output: stop
 *   { state, tools?: [{ task, input }, ...] }     go on; `tools` are steps of other tasks (by their key in the
 *                                                 workflow's tasks) run in parallel, whose outputs are the next
 *                                                 turn's `results`
 * At most `maxTurns` turns. Built on createSteps().loop(), so the workflow continues as new whenever Temporal
 * suggests it and each run's history stays bounded however many steps the loop takes.
 */
import { createSteps, type TaskWorkflowInput } from './steps.js';

export interface AgentLoopInput {
  goal: unknown;
  maxTurns: number;
  /** The first turn's state (default null). */
  state?: unknown;
}

/** What the loop carries from turn to turn (and across continue-as-new). */
export interface AgentLoopState {
  state: unknown;
  results: unknown[];
}

interface TurnOutput {
  state?: unknown;
  done?: unknown;
  tools?: { task: string; input?: unknown }[];
}

export async function agentLoop(input: TaskWorkflowInput<AgentLoopInput, AgentLoopState>) {
  const { step, loop } = createSteps(input);
  const { goal, maxTurns } = input.input;
  return loop({ state: input.input.state ?? null, results: [] }, async ({ state, results }, turn) => {
    if (turn >= maxTurns) return { done: { stopped: 'maxTurns', turns: turn, state } };
    const out = ((await step(`turn-${turn}`, 'turn', { goal, turn, state, results })) ?? {}) as TurnOutput;
    if (out.done !== undefined) return { done: out.done };
    const tools = out.tools ?? [];
    const next = await Promise.all(tools.map((tool, i) => step(`turn-${turn}.${tool.task}-${i}`, tool.task, tool.input ?? null)));
    return { next: { state: out.state ?? null, results: next } };
  });
}
