/**
 * The generic pipeline workflow: runs a declarative pipeline (already validated and bundled by the client).
 * Steps start as soon as their dependencies finish, so independent steps run in parallel; `forEach` fans a step
 * out into one activity per element. A failed step fails the pipeline (cancelling steps in flight, and the other
 * items of its own fan-out) unless its policy is "continue", in which case its output is null and the pipeline
 * goes on.
 *
 * A step is one of four kinds: a task file or code from an earlier step (runTask activities, sandboxed), a model
 * call (llm-step.ts: callLlm on the worker) or a person's decision (approvals.ts: the `approve` update). A step
 * with `when` runs only if its condition holds, else it is skipped with the reason; a step that depends on a
 * skipped step is skipped too, unless its `onFailure` is "continue" (then it runs, reading null for that output).
 */
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import { Approvals, renderApproval } from './approvals.js';
import { renderLlmCall, runLlmStep } from './llm-step.js';
import { runStep, type StepRun } from './run-step.js';
import { checkContract, INVALID_PIPELINE, PIPELINE_FAILED, pipelineInputSchema, type PipelineInput, type PipelineResult, type StepRecord, type StepSpec } from './shared.js';
import { oversize } from './sizes.js';
import { attemptsText, failureCause, failureReason, pendingRecord, skippedRecord, summarizeStep } from './summary.js';
import { evaluateCondition, renderTemplate, type TemplateScope } from './template.js';
import { Tracker } from './tracker.js';

interface StepOutcome {
  output: unknown;
  failed: StepRecord | undefined;
}

export async function pipeline(raw: PipelineInput): Promise<PipelineResult> {
  const input = checkContract(pipelineInputSchema, raw, 'pipeline input');
  const tracker = new Tracker(input.name, input.searchAttributes);
  const outputs: Record<string, unknown> = {};
  const finished = new Map<string, Promise<void>>();
  const skipped = new Set<string>();
  const approvals = new Approvals(input.steps.filter((s) => s.approval !== undefined).map((s) => s.id), tracker);
  let fatal: StepRecord | undefined;
  let cancelled = false;
  const scope = new CancellationScope();

  const runStep = async (step: StepSpec): Promise<void> => {
    await Promise.all(step.dependsOn.map((dep) => finished.get(dep)));
    if (fatal !== undefined || cancelled) {
      tracker.set(pendingRecord({ id: step.id, step: step.id }, 'skipped'));
      return;
    }
    const why = skipReason(step, skipped, { input: input.input, outputs });
    if (why !== undefined) {
      skipped.add(step.id);
      outputs[step.id] = null;
      tracker.set(skippedRecord({ id: step.id, step: step.id }, why));
      return;
    }
    try {
      const outcome = await executeStep(step, input, { input: input.input, outputs }, tracker, approvals);
      outputs[step.id] = outcome.output;
      if (outcome.failed !== undefined && step.onFailure === 'fail' && fatal === undefined) {
        fatal = outcome.failed;
        scope.cancel();
      }
    } catch (error) {
      if (!isCancellation(error)) throw error;
      cancelled ||= fatal === undefined;
    }
  };

  await scope.run(async () => {
    for (const step of topologicalOrder(input.steps)) finished.set(step.id, runStep(step));
    await Promise.all(finished.values());
  });

  if (cancelled) {
    tracker.finish('Failed', tracker.totals());
    throw new CancelledFailure('pipeline cancelled');
  }
  let output = fatal === undefined ? pipelineOutput(input, outputs) : null;
  const tooLarge = fatal === undefined ? oversize(`the output of pipeline "${input.name}"`, output) : undefined;
  if (tooLarge !== undefined) {
    fatal = summarizeStep({ id: '(output)', step: '(output)' }, { status: 'failed', attempts: 0, lostAttempts: 0, failure: tooLarge });
    output = null;
  }
  const totals = tracker.totals();
  const result: PipelineResult = {
    pipeline: input.name,
    status: fatal === undefined ? 'succeeded' : 'failed',
    ...(fatal === undefined ? {} : { failedStep: fatal.step }),
    output,
    steps: tracker.list(),
    totals,
  };
  tracker.finish(fatal === undefined ? 'Completed' : 'Failed', totals, fatal?.step);
  if (fatal !== undefined) {
    const cause = failureCause(fatal);
    throw ApplicationFailure.create({
      type: PIPELINE_FAILED,
      message: `pipeline "${input.name}" (${workflowInfo().workflowId}) failed at step "${fatal.id}" after ${attemptsText(fatal)}: ${failureReason(fatal)}`,
      nonRetryable: true,
      details: [result],
      ...(cause === undefined ? {} : { cause }),
    });
  }
  return result;
}

/** Why the step does not run, or undefined when it does: a step it depends on was skipped, or its `when` is false. */
function skipReason(step: StepSpec, skipped: ReadonlySet<string>, scope: TemplateScope): string | undefined {
  const dep = step.dependsOn.find((id) => skipped.has(id));
  if (dep !== undefined && step.onFailure !== 'continue') return `step "${dep}", which it depends on, was skipped (onFailure: continue runs it anyway)`;
  if (step.when !== undefined && !evaluateCondition(step.when, scope)) return `when ${step.when} is false`;
  return undefined;
}

async function executeStep(step: StepSpec, input: PipelineInput, scope: TemplateScope, tracker: Tracker, approvals: Approvals): Promise<StepOutcome> {
  const call = { id: step.id, step: step.id, ...summary(step) };
  if (step.llm !== undefined || step.approval !== undefined) {
    tracker.set(pendingRecord(call, 'running'));
    const run = step.llm !== undefined ? await runLlmStep(input, renderLlmCall(step.llm, scope), call) : await approvals.wait(renderApproval(step.approval!, scope), call);
    tracker.set(run.record);
    return { output: run.output, failed: run.record.status === 'failed' ? run.record : undefined };
  }
  if (step.forEach === undefined) {
    const run = await runTracked(input, step, scope, tracker);
    return { output: run.output, failed: run.record.status === 'failed' ? run.record : undefined };
  }
  const items = renderTemplate(step.forEach, scope);
  if (!Array.isArray(items)) {
    const failure = `forEach of step "${step.id}" evaluated to ${items === null ? 'null' : typeof items}; expected an array`;
    const record = summarizeStep({ id: step.id, step: step.id }, { status: 'failed', attempts: 0, lostAttempts: 0, failure });
    tracker.set(record);
    return { output: null, failed: record };
  }
  const runs = await fanOut(input, step, items, scope, tracker);
  return {
    output: runs.map((r) => r.output),
    failed: runs.find((r) => r.record.status === 'failed')?.record,
  };
}

/**
 * One activity per item, in a cancellation scope of its own: under `onFailure: fail`, the first item that fails
 * for good cancels the others at once (scheduled ones never start, running ones are stopped), and they are
 * recorded as cancelled. A cancellation from outside (the pipeline's) still propagates.
 */
async function fanOut(input: PipelineInput, step: StepSpec, items: unknown[], scope: TemplateScope, tracker: Tracker): Promise<StepRun[]> {
  const outer = CancellationScope.current();
  const siblings = new CancellationScope();
  let failedForGood = false;
  return siblings.run(() =>
    Promise.all(items.map(async (item, index): Promise<StepRun> => {
      try {
        const run = await runTracked(input, step, { ...scope, item, index }, tracker, index);
        if (run.record.status === 'failed' && step.onFailure === 'fail' && !failedForGood) {
          failedForGood = true;
          siblings.cancel();
        }
        return run;
      } catch (error) {
        if (!isCancellation(error) || !failedForGood || outer.consideredCancelled) throw error;
        return { record: tracker.get(itemId(step, index))!, output: null };
      }
    })),
  );
}

/**
 * Runs one activity (a task step's, or a code step's with its source rendered now) and keeps the tracker current,
 * including when the run is cancelled.
 */
async function runTracked(input: PipelineInput, step: StepSpec, scope: TemplateScope, tracker: Tracker, index?: number): Promise<StepRun> {
  const id = index === undefined ? step.id : itemId(step, index);
  const base = { id, step: step.id, ...(index === undefined ? {} : { index }) };
  tracker.set(pendingRecord(base, 'running'));
  const args = [renderTemplate(step.input, scope)];
  try {
    let run: StepRun;
    if (step.code !== undefined) {
      const { source, ...ref } = step.code;
      run = await runStep(input, ref, args, { ...base, ...summary(step), source: codeText(renderTemplate(source, scope)) });
    } else {
      run = await runStep(input, step.task!, args, { ...base, ...summary(step) });
    }
    tracker.set(run.record);
    return run;
  } catch (error) {
    if (isCancellation(error)) tracker.set(pendingRecord(base, 'cancelled'));
    throw error;
  }
}

/** A code step's source as rendered: text, or (a reference to something else) its JSON, which then fails to compile. */
function codeText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? 'null';
}

function itemId(step: StepSpec, index: number): string {
  return `${step.id}[${index}]`;
}

/** Dependencies first (the client already rejected cycles; a cycle here means a hand-made input). */
function topologicalOrder(steps: StepSpec[]): StepSpec[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ordered: StepSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (step: StepSpec): void => {
    const seen = state.get(step.id);
    if (seen === 'done') return;
    if (seen === 'visiting') throw ApplicationFailure.nonRetryable(`step "${step.id}" depends on itself through a cycle`, INVALID_PIPELINE);
    state.set(step.id, 'visiting');
    for (const dep of step.dependsOn) {
      const target = byId.get(dep);
      if (target === undefined) throw ApplicationFailure.nonRetryable(`step "${step.id}" depends on unknown step "${dep}"`, INVALID_PIPELINE);
      visit(target);
    }
    state.set(step.id, 'done');
    ordered.push(step);
  };
  steps.forEach(visit);
  return ordered;
}

/** The step's own description; the record id (with the fan-out index) is already part of the activity summary. */
function summary(step: StepSpec): { summary?: string } {
  return step.summary === undefined ? {} : { summary: step.summary };
}

function pipelineOutput(input: PipelineInput, outputs: Record<string, unknown>): unknown {
  if (input.output !== undefined) return renderTemplate(input.output, { input: input.input, outputs });
  const last = input.steps[input.steps.length - 1];
  return last === undefined ? null : outputs[last.id] ?? null;
}
