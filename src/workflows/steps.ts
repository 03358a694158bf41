/**
 * Helpers for hand-written workflows that chain sandboxed tasks with ordinary control flow (loops, branches,
 * Promise.all). The client passes the tasks (bundled and validated) in the input; `step()` runs one and returns its
 * output, recording every run so `result()` gives the same PipelineResult shape as the pipeline workflow.
 *
 *   export async function myWorkflow(input: TaskWorkflowInput<{ topic: string }>) {
 *     const { step, result } = createSteps(input);
 *     const found = await step('search', 'search', { topic: input.input.topic });
 *     return result(found);
 *   }
 *
 * Loops of any length (an agent's turns) use `loop()`: between turns it continues the workflow as new when Temporal
 * suggests it (the history nears its limits), carrying the loop's state and the run's totals, so each run's
 * history stays bounded and a loop of thousands of steps completes.
 *
 *   export async function agent(input: TaskWorkflowInput<{ goal: string }, AgentState>) {
 *     const { step, loop } = createSteps(input);
 *     return loop({ notes: [] }, async (state, turn) => {
 *       const next = (await step(`think-${turn}`, 'think', { goal: input.input.goal, ...state })) as AgentState & { done?: string };
 *       return next.done === undefined ? { next } : { done: next.done };
 *     });
 *   }
 *
 * Agents' own kinds of step are here too: `llm(id, call)` (a model call made by the worker), `code(id, options,
 * input)` (source text, often an llm's reply, run in a fresh sandbox with the limits and capabilities `options`
 * give it and nothing its code declares) and `approval(id, options)` (waits for `capsule approve`). See
 * coding-agent.ts: write code, run it, feed the error back, up to N rounds.
 */
import { ApplicationFailure, continueAsNew, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import { parseDuration } from '../config/units.js';
import { Approvals } from './approvals.js';
import { runLlmStep } from './llm-step.js';
import { runStep, type StepRun } from './run-step.js';
import { checkContract, CODE_LANGUAGES, INVALID_PIPELINE, MAX_LOST_ATTEMPTS_LIMIT, PIPELINE_FAILED, runContextSchema, taskRefSchema, type ApprovalDecision, type CodeLanguage, type CodeRef, type LlmCall, type PipelineResult, type RunContext, type StepRecord, type TaskRef } from './shared.js';
import { attemptsText, failureCause, failureReason, pendingRecord } from './summary.js';
import { Tracker, type CarriedProgress } from './tracker.js';
import type { TaskOptionsInput } from '../config/task-options.js';

/** Where a continued run picks up: the loop's state and turn, and the progress of the runs before it. */
export interface Carried<S = unknown> {
  loop: { turn: number; state: S };
  progress: CarriedProgress;
}

export interface TaskWorkflowInput<I = unknown, S = unknown> extends RunContext {
  name: string;
  input: I;
  /** Tasks by the key the client registered them under. */
  tasks: Record<string, TaskRef>;
  /** Set by loop() when it continues the workflow as new; absent in the first run. */
  carried?: Carried<S>;
}

/** What the client hands a hand-written workflow (client/task-workflow.ts), checked when createSteps() reads it. */
const taskWorkflowInputSchema = runContextSchema.extend({
  name: z.string(),
  input: z.unknown(),
  tasks: z.record(z.string(), taskRefSchema),
  carried: z.unknown().optional(),
});

/** What a loop turn returns: the state for the next turn, or the loop's output. */
export type LoopTurn<S, O> = { next: S } | { done: O };

/** Per-step settings, as a pipeline step has them. */
export interface StepOptions {
  /**
   * Attempts that may be lost (worker died or shut down, heartbeat stopped, server lost the task) before the step
   * fails. Default: the workflow's `retry.maxLostAttempts` (capsule.toml `default_max_lost_attempts`, else 10).
   */
  maxLostAttempts?: number;
}

/** An llm step's call: the pipeline's `llm:` fields, as plain text (no templates: build strings in code). */
export type LlmOptions = Omit<LlmCall, 'output'> & { output?: LlmCall['output'] };

/**
 * A code step: the source and its language, and the limits and capabilities it runs with (task options, as a task
 * file would declare them: compute, ram, timeout, maxRetries, allowedFiles, allowedHosts, envVariables, secrets,
 * maxResponseSize). Whatever the source itself declares is ignored.
 */
export interface CodeOptions extends StepOptions {
  language: CodeLanguage;
  source: string;
  options?: Omit<TaskOptionsInput, 'name'>;
}

/** An approval step: the prompt shown to the approver, and optionally a timeout (ms or "24h") and what it decides. */
export interface ApprovalOptions {
  prompt: string;
  timeout?: number | string;
  onTimeout?: 'approve' | 'reject' | 'fail';
}

/**
 * A code step's timeout when neither the step nor capsule.toml gives one: the options' built-in default
 * (config/task-options.ts BUILTIN_DEFAULTS, which workflow code cannot import; a test holds the two equal).
 */
export const DEFAULT_CODE_TIMEOUT_MS = 60_000;

export interface Steps<S = unknown> {
  /** Calls a model (OpenAI-compatible chat completions, from the worker); returns the reply's text, or its JSON with output "json". Throws if it fails. */
  llm(id: string, call: LlmOptions): Promise<unknown>;
  /** Runs source text as a program in a fresh sandbox with `options`' limits; returns its output, throws if it fails. */
  code(id: string, options: CodeOptions, input: unknown): Promise<unknown>;
  /** Like code() but never throws for the code's failure: the record (with its error) and the output. */
  tryCode(id: string, options: CodeOptions, input: unknown): Promise<StepRun>;
  /** Waits for a person's decision (`capsule approve <workflowId> <id> [--reject]`), or the timeout's. */
  approval(id: string, options: ApprovalOptions): Promise<ApprovalDecision>;
  /** Runs task `taskKey` once as step `id` (ids must be unique per run); throws ApplicationFailure if it fails. */
  step(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<unknown>;
  /** Like step() but never throws for a task failure: returns the record (status, attempts, figures) and the output. */
  tryStep(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<StepRun>;
  /** The run's result with every step recorded so far and totals. */
  result(output: unknown): PipelineResult;
  /**
   * Runs `turn` until it returns `{ done }`, then returns result(done). `initial` (a value, or a function run once,
   * in the first run only) gives the first state. Between turns, when Temporal suggests continuing as new, the
   * workflow continues as new with the state and turn number; code before loop() runs again in the new run, so
   * put one-time set-up in `initial`. `turn` counts across runs: use it in step ids (`think-${turn}`).
   */
  loop<O>(initial: S | (() => Promise<S>), turn: (state: S, turn: number) => Promise<LoopTurn<S, O>>): Promise<PipelineResult>;
}

/**
 * The Steps of each running workflow, by run id, for the free functions step() and tryStep(). The workflow
 * sandbox may share this module between workflows (the SDK reuses one V8 context), hence the key.
 */
const active = new Map<string, Steps<never>>();

export function createSteps<I, S>(raw: TaskWorkflowInput<I, S>): Steps<S> {
  // The parts a workflow author's own types cannot vouch for are checked; their input and loop state are theirs.
  const input = { ...raw, ...checkContract(taskWorkflowInputSchema, raw, 'workflow input'), input: raw.input, carried: raw.carried };
  const tracker = new Tracker(input.name, input.searchAttributes, input.carried?.progress);

  const tryStep = async (id: string, taskKey: string, stepInput: unknown, options: StepOptions = {}): Promise<StepRun> => {
    const task = input.tasks[taskKey];
    if (task === undefined) {
      throw ApplicationFailure.nonRetryable(`step "${id}": no task "${taskKey}" in the input (have: ${Object.keys(input.tasks).join(', ')})`, INVALID_PIPELINE);
    }
    const ref = withStepOptions(id, task, options);
    if (tracker.has(id)) throw ApplicationFailure.nonRetryable(`step id "${id}" used twice`, INVALID_PIPELINE);
    tracker.set(pendingRecord({ id, step: id }, 'running'));
    const run = await runStep(input, ref, [stepInput], { id });
    tracker.set(run.record);
    return run;
  };

  const result = (output: unknown, failedStep?: string): PipelineResult => {
    active.delete(workflowInfo().runId);
    const totals = tracker.totals();
    tracker.finish(failedStep === undefined ? 'Completed' : 'Failed', totals, failedStep);
    const earlier = tracker.earlier();
    return {
      pipeline: input.name,
      status: failedStep === undefined ? 'succeeded' : 'failed',
      ...(failedStep === undefined ? {} : { failedStep }),
      output,
      steps: tracker.list(),
      totals,
      ...(earlier === undefined ? {} : { earlier }),
    };
  };

  const step = async (id: string, taskKey: string, stepInput: unknown, options?: StepOptions): Promise<unknown> => {
    const { record, output } = await tryStep(id, taskKey, stepInput, options);
    if (record.status === 'succeeded') return output;
    throw stepFailed(record, result(null, id));
  };

  /** Records a step of another kind from start to end, failing the workflow when it fails. */
  const tracked = async (id: string, run: () => Promise<StepRun>): Promise<StepRun> => {
    if (tracker.has(id)) throw ApplicationFailure.nonRetryable(`step id "${id}" used twice`, INVALID_PIPELINE);
    tracker.set(pendingRecord({ id, step: id }, 'running'));
    const done = await run();
    tracker.set(done.record);
    return done;
  };
  const orThrow = (id: string, { record, output }: StepRun): unknown => {
    if (record.status === 'succeeded') return output;
    throw stepFailed(record, result(null, id));
  };

  const tryCode = (id: string, options: CodeOptions, stepInput: unknown): Promise<StepRun> =>
    tracked(id, () => runStep(input, codeRef(id, options, input), [stepInput], { id, source: options.source }));
  const code = async (id: string, options: CodeOptions, stepInput: unknown): Promise<unknown> => orThrow(id, await tryCode(id, options, stepInput));
  const llm = async (id: string, call: LlmOptions): Promise<unknown> => orThrow(id, await tracked(id, () => runLlmStep(input, { ...call, output: call.output ?? 'text' }, { id })));
  // Registered now, so a decision sent before the code reaches approval() is refused with a reason, not unhandled.
  const approvals = new Approvals(undefined, tracker);
  const approval = async (id: string, options: ApprovalOptions): Promise<ApprovalDecision> => {
    const timeoutMs = options.timeout === undefined ? undefined : durationOf(id, 'timeout', options.timeout);
    const spec = { prompt: options.prompt, ...(timeoutMs === undefined ? {} : { timeoutMs }), onTimeout: options.onTimeout ?? 'reject' } as const;
    return orThrow(id, await tracked(id, () => approvals.wait(spec, { id }))) as ApprovalDecision;
  };

  const loop = async <O>(initial: S | (() => Promise<S>), turn: (state: S, turn: number) => Promise<LoopTurn<S, O>>): Promise<PipelineResult> => {
    let n = input.carried?.loop.turn ?? 0;
    let state = input.carried !== undefined ? input.carried.loop.state : typeof initial === 'function' ? await (initial as () => Promise<S>)() : initial;
    for (;;) {
      const outcome = await turn(state, n);
      if ('done' in outcome) return result(outcome.done);
      state = outcome.next;
      n++;
      // Between turns nothing is in flight, so the state is all the next run needs.
      if (workflowInfo().continueAsNewSuggested) {
        const carried: Carried<S> = { loop: { turn: n, state }, progress: tracker.carry() };
        await continueAsNew<(next: TaskWorkflowInput<I, S>) => Promise<PipelineResult>>({ ...input, carried });
      }
    }
  };

  const steps: Steps<S> = { step, tryStep, llm, code, tryCode, approval, result: (output) => result(output), loop };
  active.set(workflowInfo().runId, steps as Steps<never>);
  return steps;
}

function current(what: string): Steps<never> {
  const steps = active.get(workflowInfo().runId);
  if (steps === undefined) throw ApplicationFailure.nonRetryable(`${what}() needs createSteps(input) to have been called first in this workflow`, INVALID_PIPELINE);
  return steps;
}

/** `createSteps(input).step(...)` of the running workflow, for code that does not hold its Steps (helper modules). */
export function step(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<unknown> {
  return current('step').step(id, taskKey, input, options);
}

/** `createSteps(input).tryStep(...)` of the running workflow: never throws for a task failure. */
export function tryStep(id: string, taskKey: string, input: unknown, options?: StepOptions): Promise<StepRun> {
  return current('tryStep').tryStep(id, taskKey, input, options);
}

/** `createSteps(input).llm(...)` of the running workflow: a model call made by the worker. */
export function llm(id: string, call: LlmOptions): Promise<unknown> {
  return current('llm').llm(id, call);
}

/** `createSteps(input).code(...)` of the running workflow: source text run in a fresh sandbox with `options`' limits only. */
export function code(id: string, options: CodeOptions, input: unknown): Promise<unknown> {
  return current('code').code(id, options, input);
}

/** `createSteps(input).tryCode(...)` of the running workflow: never throws for the code's failure. */
export function tryCode(id: string, options: CodeOptions, input: unknown): Promise<StepRun> {
  return current('tryCode').tryCode(id, options, input);
}

/** `createSteps(input).approval(...)` of the running workflow: waits for `capsule approve` (or its timeout). */
export function approval(id: string, options: ApprovalOptions): Promise<ApprovalDecision> {
  return current('approval').approval(id, options);
}

function stepFailed(record: StepRecord, result: PipelineResult): ApplicationFailure {
  const cause = failureCause(record);
  return ApplicationFailure.create({
    type: PIPELINE_FAILED,
    message: `step "${record.id}" failed after ${attemptsText(record)}: ${failureReason(record)}`,
    nonRetryable: true,
    details: [result],
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A code step's ref: its options as given (the activity resolves them, with capsule.toml's defaults, and refuses bad
 * ones as invalid_task), and the timeout and retries its activity is scheduled with.
 */
function codeRef(id: string, options: CodeOptions, ctx: RunContext): CodeRef {
  if (!CODE_LANGUAGES.includes(options.language)) {
    throw ApplicationFailure.nonRetryable(`step "${id}": language: got ${JSON.stringify(options.language)}; expected ${CODE_LANGUAGES.join(', ')}`, INVALID_PIPELINE);
  }
  const given = options.options ?? {};
  const timeout = given.timeout ?? ctx.defaults.timeout;
  const retries = given.maxRetries ?? ctx.defaults.maxRetries ?? 0;
  if (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0) {
    throw ApplicationFailure.nonRetryable(`step "${id}": maxRetries: got ${JSON.stringify(retries)}; expected a whole number >= 0`, INVALID_PIPELINE);
  }
  return {
    language: options.language,
    options: given,
    timeout: timeout === undefined ? DEFAULT_CODE_TIMEOUT_MS : durationOf(id, 'timeout', timeout),
    maxRetries: retries,
    maxLostAttempts: options.maxLostAttempts ?? ctx.retry.maxLostAttempts,
  };
}

function durationOf(id: string, field: string, value: unknown): number {
  const parsed = parseDuration(value);
  if (parsed.ok) return parsed.value;
  throw ApplicationFailure.nonRetryable(`step "${id}": ${field}: got ${JSON.stringify(value)}; expected ${parsed.expected}`, INVALID_PIPELINE);
}

function withStepOptions(id: string, ref: TaskRef, options: StepOptions): TaskRef {
  const lost = options.maxLostAttempts;
  if (lost === undefined) return ref;
  if (!Number.isSafeInteger(lost) || lost < 0 || lost > MAX_LOST_ATTEMPTS_LIMIT) {
    throw ApplicationFailure.nonRetryable(`step "${id}": maxLostAttempts: got ${String(lost)}; expected an integer from 0 to ${MAX_LOST_ATTEMPTS_LIMIT}`, INVALID_PIPELINE);
  }
  return { ...ref, maxLostAttempts: lost };
}
