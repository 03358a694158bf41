// A workflow of the user's own, in the user's project: imports only capsule/workflow.
import { createSteps, tryStep, type TaskWorkflowInput } from 'capsule/workflow';

export async function greetTwice(input: TaskWorkflowInput<{ name: string }>) {
  const { step, result } = createSteps(input);
  const first = await step('first', 'hello', { name: input.input.name });
  const second = await tryStep('second', 'hello', { name: 'again' });
  return result({ first, second: second.output, status: second.record.status });
}
