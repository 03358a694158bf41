/**
 * Approval steps: a person's decision, delivered as the `approve` Temporal Update (`capsule approve`, the MCP
 * `approve` tool). The update's validator refuses, before anything is written to history, a step that is not an
 * approval step of this run, one that is not waiting, and a second decision. While a step waits, its record says
 * `awaiting_approval` with its prompt (the Web UI's current details, `capsule status`) and so does the CapsuleStatus
 * search attribute. The wait is a durable condition with an optional timer: it survives worker and server restarts.
 */
import { ApplicationFailure, condition, defineUpdate, isCancellation, setHandler } from '@temporalio/workflow';
import { formatDuration } from '../config/units.js';
import type { StepCall, StepRun } from './run-step.js';
import { APPROVE_UPDATE, approveArgsSchema, type ApprovalDecision, type ApprovalSpec, type ApproveArgs } from './shared.js';
import { pendingRecord, summarizeStep } from './summary.js';
import { renderTemplate, type TemplateScope } from './template.js';
import type { Tracker } from './tracker.js';

/** A pipeline's approval step with its prompt template rendered. */
export function renderApproval(spec: ApprovalSpec, scope: TemplateScope): ApprovalSpec {
  const rendered = renderTemplate(spec.prompt, scope);
  return { ...spec, prompt: typeof rendered === 'string' ? rendered : JSON.stringify(rendered) ?? 'null' };
}

export const approveUpdate = defineUpdate<ApprovalDecision, [ApproveArgs]>(APPROVE_UPDATE);

/** Failure type of a refused decision (the update's validator). */
export const APPROVAL_REFUSED = 'ApprovalRefused';

/** A prompt is shown, not stored as a value: cut to this many characters. */
const MAX_PROMPT_CHARS = 2000;

export class Approvals {
  private readonly waiting = new Map<string, string>();
  private readonly decided = new Map<string, ApprovalDecision>();

  /** `steps`: the run's approval steps (a pipeline's); undefined where steps are made as the code goes (createSteps). */
  constructor(private readonly steps: readonly string[] | undefined, private readonly tracker: Tracker) {
    setHandler(approveUpdate, (args) => this.decide(args), { validator: (args) => this.validate(args) });
  }

  /** Waits for the step's decision (or its timeout) and returns the step's record and output. `spec.prompt` is shown as is. */
  async wait(spec: ApprovalSpec, options: StepCall): Promise<StepRun> {
    const base = { id: options.id, step: options.step ?? options.id };
    const full = spec.prompt;
    const prompt = full.length <= MAX_PROMPT_CHARS ? full : `${full.slice(0, MAX_PROMPT_CHARS - 1)}…`;
    this.waiting.set(options.id, prompt);
    this.tracker.set(pendingRecord(base, 'awaiting_approval', { prompt }));
    this.tracker.awaiting(this.waiting.size);
    const decided = () => this.decided.has(options.id);
    let decidedInTime: boolean;
    try {
      // condition() with an undefined timeout times out at once: without a timeout, wait for ever.
      decidedInTime = spec.timeoutMs === undefined ? (await condition(decided), true) : await condition(decided, spec.timeoutMs);
    } catch (error) {
      // The pipeline was cancelled, or failed elsewhere: nothing waits for this decision any more.
      if (isCancellation(error)) this.tracker.set(pendingRecord(base, 'cancelled', { prompt }));
      throw error;
    } finally {
      this.waiting.delete(options.id);
      this.tracker.awaiting(this.waiting.size);
    }
    let decision = this.decided.get(options.id);
    if (!decidedInTime || decision === undefined) {
      const waited = waitedFor(spec.timeoutMs ?? 0);
      if (spec.onTimeout === 'fail') {
        return { record: summarizeStep(base, { status: 'failed', attempts: 1, lostAttempts: 0, approval: { prompt }, failure: `no decision within ${waited} (onTimeout: fail)` }), output: null };
      }
      decision = { approved: spec.onTimeout === 'approve', by: null, comment: `no decision within ${waited}: ${spec.onTimeout === 'approve' ? 'approved' : 'rejected'} by onTimeout`, at: new Date().toISOString() };
      this.decided.set(options.id, decision);
    }
    return { record: summarizeStep(base, { status: 'succeeded', attempts: 1, lostAttempts: 0, approval: { prompt, decision } }), output: decision };
  }

  private validate(raw: ApproveArgs): void {
    const parsed = approveArgsSchema.safeParse(raw);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid decision: ${parsed.error.issues[0]?.message ?? 'bad arguments'}`, APPROVAL_REFUSED);
    const { stepId } = parsed.data;
    if (this.steps !== undefined && !this.steps.includes(stepId)) {
      const known = this.steps.length === 0 ? 'this run has none' : `its approval steps are: ${this.steps.join(', ')}`;
      throw ApplicationFailure.nonRetryable(`"${stepId}" is not an approval step of this run (${known})`, APPROVAL_REFUSED);
    }
    if (this.steps === undefined && !this.waiting.has(stepId) && !this.decided.has(stepId)) {
      const waiting = this.waiting.size === 0 ? 'none is waiting now' : `waiting now: ${[...this.waiting.keys()].join(', ')}`;
      throw ApplicationFailure.nonRetryable(`"${stepId}" is not an approval step of this run (${waiting})`, APPROVAL_REFUSED);
    }
    const earlier = this.decided.get(stepId);
    if (earlier !== undefined) {
      throw ApplicationFailure.nonRetryable(`step "${stepId}" was already decided: ${earlier.approved ? 'approved' : 'rejected'}${earlier.by === null ? '' : ` by ${earlier.by}`} at ${earlier.at}`, APPROVAL_REFUSED);
    }
    if (!this.waiting.has(stepId)) {
      throw ApplicationFailure.nonRetryable(`step "${stepId}" is not waiting for a decision (it waits once the steps before it have finished; ${this.tracker.get(stepId)?.status ?? 'pending'} now)`, APPROVAL_REFUSED);
    }
  }

  private decide(args: ApproveArgs): ApprovalDecision {
    const decision: ApprovalDecision = { approved: args.approved, by: args.by ?? null, comment: args.comment ?? null, at: new Date().toISOString() };
    this.decided.set(args.stepId, decision);
    return decision;
  }
}

/** "24h" rather than "1440m": approval timeouts are hours and days. */
function waitedFor(ms: number): string {
  const HOUR = 3_600_000;
  return ms >= HOUR && ms % HOUR === 0 ? `${ms / HOUR}h` : formatDuration(ms);
}
