/**
 * Example of a hand-written workflow: draft, then critique the draft from several angles in parallel, and revise
 * until every critic approves or the round limit is hit. Tasks: "draft", "critique" (see examples/review-loop/).
 */
import { createSteps, type TaskWorkflowInput } from './steps.js';

export interface ReviewLoopInput {
  topic: string;
  critics: string[];
  maxRounds: number;
}

interface Critique {
  critic: string;
  approved: boolean;
  note: string;
}

export async function reviewLoop(input: TaskWorkflowInput<ReviewLoopInput>) {
  const { step, result } = createSteps(input);
  const { topic, critics, maxRounds } = input.input;
  let draft = await step('draft-1', 'draft', { topic, notes: [] });
  for (let round = 1; round <= maxRounds; round++) {
    const critiques = (await Promise.all(
      critics.map((critic) => step(`critique-${round}-${critic}`, 'critique', { draft, critic, round })),
    )) as Critique[];
    if (critiques.every((c) => c.approved) || round === maxRounds) return result({ draft, rounds: round, critiques });
    draft = await step(`draft-${round + 1}`, 'draft', { topic, notes: critiques.map((c) => c.note) });
  }
  return result({ draft, rounds: 0, critiques: [] });
}
