/**
 * The one function that turns a step's outcome into its StepRecord: status, attempts, the figures of its envelope
 * (duration, fuel, memory, sizes) or of its model call, an approval's decision, and where the full envelope is. Records travel in the progress query, the Web
 * UI's details, the memo and the workflow result, so they never hold a step's values: those stay in the activity's
 * result in history (claim-checked when large). A failed record's words for the pipeline's own failure are here too.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { RunTaskResult, StepRecord, StepStatus } from './shared.js';

export interface StepIdentity {
  id: string;
  step: string;
  index?: number;
}

export interface StepEnd {
  status: StepStatus;
  /** Every attempt, lost ones included. */
  attempts: number;
  /** Attempts that left no result. */
  lostAttempts: number;
  envelope?: RunTaskResult;
  failure?: string;
  /** The activity that produced the envelope (run id of this workflow run, activity id). */
  activity?: StepRecord['activity'];
  /** An llm step's call figures. */
  llm?: StepRecord['llm'];
  /** An approval step's prompt and decision. */
  approval?: StepRecord['approval'];
}

export function summarizeStep(identity: StepIdentity, end: StepEnd): StepRecord {
  const record: StepRecord = { ...identity, status: end.status, attempts: end.attempts, lostAttempts: end.lostAttempts };
  const envelope = end.envelope;
  if (envelope !== undefined) {
    const x = envelope.execution;
    record.execution = {
      task_name: x.task_name,
      duration_ms: x.duration_ms,
      fuel_consumed: x.fuel_consumed,
      fuel_limit: x.fuel_limit,
      ram_used: x.ram_used,
      ram_limit: x.ram_limit,
      truncated: x.truncated,
      host_requests: x.host_requests.length,
      denials: x.denials.length,
      ...envelope.sizes,
    };
    if (envelope.error !== null) record.error = envelope.error;
    if (envelope.earlier_attempts.length > 0) record.earlier_attempts = envelope.earlier_attempts;
    if (envelope.lost_attempts.length > 0) record.lost_attempts = envelope.lost_attempts;
    if (envelope.code !== undefined) record.code = envelope.code;
  }
  if (end.failure !== undefined) record.failure = end.failure;
  if (end.activity !== undefined) record.activity = end.activity;
  if (end.llm !== undefined) record.llm = end.llm;
  if (end.approval !== undefined) record.approval = end.approval;
  return record;
}

/** A record of a step that has not ended: running, skipped, cancelled, or waiting for a decision (with its prompt). */
export function pendingRecord(identity: StepIdentity, status: 'running' | 'skipped' | 'cancelled' | 'awaiting_approval', approval?: StepRecord['approval']): StepRecord {
  return { ...identity, status, attempts: 0, lostAttempts: 0, ...(approval === undefined ? {} : { approval }) };
}

/** A step that did not run, and why (its `when` was false, or a step it depends on was skipped). */
export function skippedRecord(identity: StepIdentity, reason: string): StepRecord {
  return { ...pendingRecord(identity, 'skipped'), reason };
}

/** "3 attempt(s), 1 of them lost" for failure messages: the task's own retries and lost attempts are apart. */
export function attemptsText(record: StepRecord): string {
  return `${record.attempts} attempt(s)${record.lostAttempts > 0 ? `, ${record.lostAttempts} of them lost` : ''}`;
}

/** "error_type: message" of a failed record, for the pipeline's own failure message. */
export function failureReason(record: StepRecord): string {
  const error = record.error;
  return error === undefined ? record.failure ?? 'failed' : `${error.error_type}: ${error.message}`;
}

/**
 * The failed step's error as the cause of the pipeline's failure, so the Web UI's failure view of the workflow shows
 * the step's error_type (the activity's own failure event carries the full envelope in its details).
 */
export function failureCause(record: StepRecord): ApplicationFailure | undefined {
  const error = record.error;
  if (error === undefined) return undefined;
  return ApplicationFailure.create({ type: error.error_type, message: `step "${record.id}": ${error.message}`, nonRetryable: true });
}
