// Workflow code: deterministic, replayed by Temporal. Each step runs a task in its own sandbox.
import { createSteps, type TaskWorkflowInput } from 'capsule/workflow';

export async function greet(input: TaskWorkflowInput<{ names: string[] }>) {
  const { step, result } = createSteps(input);
  const greetings = await Promise.all(input.input.names.map((name) => step(`hello-${name}`, 'hello', { name })));
  const loud = await Promise.all(greetings.map((greeting, i) => step(`shout-${i}`, 'shout', greeting)));
  return result(loud);
}
