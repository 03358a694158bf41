/**
 * The agent loop of code that writes code: a model writes a function, Capsule runs it in a fresh sandbox with the
 * limits the workflow gives it, and when it fails the error goes back to the model, up to `maxRounds` rounds.
 * Nothing the model writes can widen what its code may do. Start it with startTaskWorkflow (tasks: {}) as
 * `codingAgent`; examples/coding-agent/ runs it against a local OpenAI-compatible server.
 */
import { createSteps, type TaskWorkflowInput } from './steps.js';
import type { CodeLanguage } from './shared.js';

export interface CodingAgentInput {
  /** What `main(input)` should do. */
  goal: string;
  model: string;
  language: CodeLanguage;
  /** The input the written code's main() is run with. */
  input: unknown;
  maxRounds: number;
  /** Task options for the code (default: compute LOW, timeout 10s, nothing granted). */
  options?: Record<string, unknown>;
}

export async function codingAgent(input: TaskWorkflowInput<CodingAgentInput>) {
  const { llm, tryCode, result } = createSteps(input);
  const { goal, model, language, maxRounds } = input.input;
  const options = input.input.options ?? { compute: 'LOW', timeout: '10s' };
  let feedback = '';
  for (let round = 1; round <= maxRounds; round++) {
    const reply = (await llm(`write-${round}`, {
      model,
      system: `You write small ${language} programs. Reply only with JSON: {"code": "..."}.`,
      prompt: `Write main(input) that ${goal}.${feedback}`,
      output: 'json',
    })) as { code?: unknown };
    const source = typeof reply.code === 'string' ? reply.code : '';
    const run = await tryCode(`run-${round}`, { language, source, options }, input.input.input);
    if (run.record.status === 'succeeded') return result({ rounds: round, output: run.output, code: source });
    const error = run.record.error === undefined ? run.record.failure ?? 'failed' : `${run.record.error.error_type}: ${run.record.error.message}`;
    feedback = `\nYour previous code failed with this error; fix it.\nError: ${error}\nPrevious code:\n${source}`;
  }
  return result({ rounds: maxRounds, output: null, gaveUp: true });
}
