/**
 * `capsule/workflow`: what a workflow file of your own imports. Workflow code only (deterministic, safe in
 * Temporal's workflow sandbox): no Node built-ins, no sandbox, no client. Bundled with Capsule's workflows by
 * `capsule worker --workflows`, `createCapsuleWorker({ workflowsPath })` or a worker with `CapsulePlugin`.
 *
 *   import { createSteps, type TaskWorkflowInput } from 'capsule/workflow';
 *   export async function greet(input: TaskWorkflowInput<{ name: string }>) {
 *     const { step, result } = createSteps(input);
 *     return result(await step('hello', 'hello', { name: input.input.name }));
 *   }
 */
export {
  approval,
  code,
  createSteps,
  llm,
  step,
  tryCode,
  tryStep,
  type ApprovalOptions,
  type Carried,
  type CodeOptions,
  type LlmOptions,
  type LoopTurn,
  type StepOptions,
  type Steps,
  type TaskWorkflowInput,
} from './steps.js';
export type { StepRun } from './run-step.js';
export type { ApprovalDecision, PipelineResult, PipelineTotals, StepRecord, StepStatus } from './shared.js';
