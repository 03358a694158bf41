/**
 * A run started from host code (a pipeline, or a workflow of one's own): its id and Web UI link, its progress as
 * step events, its result in the shape `capsule run --json` prints, and cancel.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { awaitOutcome, outcomeJson, type OutcomeJson } from '../client/outcome.js';
import { pollProgress } from '../client/progress-poll.js';
import { stepEnvelopes } from '../client/step-envelopes.js';
import type { StepStatus } from '../workflows/shared.js';

/** One change in a run, as progress() reports it. */
export type RunEvent =
  /** A step started running, started another attempt after a failure, or reached its end (succeeded, failed, skipped, cancelled). */
  | { type: 'step'; change: 'started' | 'retried' | 'finished'; step: string; status: StepStatus; attempt: number }
  /** No worker can process the run (its workflow tasks keep failing): the newest reason. */
  | { type: 'stalled'; message: string };

/** What result() resolves to: the run's end state with every step and its envelope (`capsule run --json`'s object). */
export type RunResult = OutcomeJson;

const ENDED: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export class RunHandle {
  private outcome: Promise<RunResult> | undefined;

  constructor(
    private readonly handle: WorkflowHandle,
    /** The Web UI page of the run, when there is a UI. */
    readonly uiUrl: string | undefined,
  ) {}

  /** The workflow id (`capsule watch <id>`, `capsule result <id>` find it). */
  get id(): string {
    return this.handle.workflowId;
  }

  /** Step events as they happen (read about twice a second), ending when the run closes, with every step's end. */
  async *progress(): AsyncGenerator<RunEvent> {
    const done = this.handle.result().catch(() => undefined);
    const seen = new Map<string, { status: StepStatus; attempt: number }>();
    let stalled: string | undefined;
    const changes = function* (steps: Array<{ id: string; status: StepStatus; attempts: number }>, live: ReadonlyMap<string, { attempt: number }>): Generator<RunEvent> {
      for (const record of steps) {
        // A running step is on its first attempt at least, even before its first heartbeat says so.
        const attempt = Math.max(live.get(record.id)?.attempt ?? record.attempts, record.status === 'running' ? 1 : 0);
        const before = seen.get(record.id);
        seen.set(record.id, { status: record.status, attempt });
        const change = record.status === 'running'
          ? before?.status === 'running' ? (attempt > before.attempt ? 'retried' : undefined) : 'started'
          : ENDED.includes(record.status) && !ENDED.includes(before?.status ?? 'pending') ? 'finished' : undefined;
        if (change !== undefined) yield { type: 'step', change, step: record.id, status: record.status, attempt };
      }
    };
    for await (const reading of pollProgress(this.handle, done)) {
      if (reading.kind === 'trouble') {
        if (reading.message !== stalled) yield { type: 'stalled', message: reading.message };
        stalled = reading.message;
      } else if (reading.kind === 'steps') {
        stalled = undefined;
        yield* changes(reading.steps, reading.live);
      }
    }
    // Steps that ended between the last reading and the run's end.
    const outcome = await this.result();
    yield* changes(outcome.steps, new Map());
  }

  /** Waits for the run to end; a failed run resolves too (status "failed"), with the step that failed. */
  result(): Promise<RunResult> {
    this.outcome ??= (async () => {
      const outcome = await awaitOutcome(this.handle);
      const envelopes = outcome.result === undefined ? new Map() : await stepEnvelopes(this.handle.client, this.handle.workflowId, outcome.result.steps);
      return outcomeJson(outcome, this.uiUrl, envelopes);
    })();
    return this.outcome;
  }

  /** Asks the run to stop: running steps are cancelled; result() then resolves with status "cancelled". */
  async cancel(): Promise<void> {
    await this.handle.cancel();
  }
}
