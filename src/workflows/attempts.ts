/**
 * A step's attempts, sorted into the two budgets: the task's own failures (counted against `maxRetries`) and lost
 * attempts — ones that left no result because their worker died or shut down, their heartbeat stopped or the server
 * lost them (counted against `maxLostAttempts`). Temporal keeps only the last heartbeat's details across attempts,
 * so each attempt carries the records of the ones before it in its heartbeats; an attempt missing from them left
 * nothing behind and was lost. Pure functions over untrusted input (details come back from the server): the
 * activity and the workflow (which reads them from a timeout's last heartbeat) share them.
 */
import type { AttemptBudgets, AttemptFailure, CodeRef, LostAttempt, RunTaskHeartbeat, TaskRef } from './shared.js';

export interface AttemptRecords {
  /** The task's own failed attempts, oldest first. */
  failures: AttemptFailure[];
  /** Attempts that left no result, oldest first. */
  lost: LostAttempt[];
}

/** The reason recorded for an attempt its worker handed back on a graceful shutdown. */
export const HANDED_BACK = 'its worker shut down and handed the step back';

/**
 * The records of attempts 1 .. `attempt` - 1, from the last heartbeat details the server kept. Every earlier
 * attempt is in exactly one list: the ones the details do not mention were lost without a word.
 */
export function attemptsBefore(details: unknown, attempt: number): AttemptRecords {
  const beat = readHeartbeat(details);
  const { failures, lost } = collect(beat, attempt);
  for (let n = 1; n < attempt; n++) {
    if (failures.has(n) || lost.has(n)) continue;
    const ran = beat.attempt === n ? beat.elapsedMs : null;
    lost.set(n, {
      attempt: n,
      reason: ran === null
        ? 'no result and no heartbeat reached the server: its worker died or was cut off before reporting, or the server lost the task'
        : `no result after its last heartbeat (${ran} ms into the run): its worker died or was cut off, or the server lost the task`,
      last_heartbeat_ms: ran,
    });
  }
  return sorted(failures, lost);
}

/** Exactly what the details record (a step's result, a LostAttemptsExhausted failure's details), no gaps filled. */
export function recordedAttempts(details: unknown): AttemptRecords {
  const { failures, lost } = collect(readHeartbeat(details), Number.MAX_SAFE_INTEGER);
  return sorted(failures, lost);
}

/** Records of attempts below `below`, one per attempt (a failure wins over a loss recorded for the same attempt). */
function collect(beat: ReadHeartbeat, below: number) {
  const failures = new Map<number, AttemptFailure>();
  const lost = new Map<number, LostAttempt>();
  for (const f of beat.failures) if (f.attempt < below) failures.set(f.attempt, f);
  for (const l of beat.lost) if (l.attempt < below && !failures.has(l.attempt)) lost.set(l.attempt, l);
  return { failures, lost };
}

function sorted(failures: Map<number, AttemptFailure>, lost: Map<number, LostAttempt>): AttemptRecords {
  const byAttempt = <T extends { attempt: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.attempt - b.attempt);
  return { failures: byAttempt(failures), lost: byAttempt(lost) };
}

/** The records as a step's result and heartbeats spell them. */
export function recordFields(records: AttemptRecords): { earlier_attempts: AttemptFailure[]; lost_attempts: LostAttempt[] } {
  return { earlier_attempts: records.failures, lost_attempts: records.lost };
}

/** A step's two retry budgets: the task's own (its resolved maxRetries) and the lost attempts the step allows. */
export function budgetsOf(ref: TaskRef | CodeRef): AttemptBudgets {
  return { maxRetries: 'language' in ref ? ref.maxRetries : ref.options.maxRetries, maxLostAttempts: ref.maxLostAttempts };
}

/** True when the task failing now (on its own) has no retry left: its failures would exceed maxRetries. */
export function retriesSpent(records: AttemptRecords, budgets: AttemptBudgets): boolean {
  return records.failures.length + 1 > budgets.maxRetries;
}

/** True when the step has been lost more often than maxLostAttempts allows: it must not run again. */
export function lostBudgetSpent(records: AttemptRecords, budgets: AttemptBudgets): boolean {
  return records.lost.length > budgets.maxLostAttempts;
}

/** Why a step stopped after too many lost attempts: which step, how many, the budget and what to look at. */
export function lostAttemptsMessage(stepId: string, records: AttemptRecords, budgets: AttemptBudgets): string {
  const last = records.lost[records.lost.length - 1];
  return (
    `step "${stepId}" was lost ${records.lost.length} time(s), more than its maxLostAttempts of ${budgets.maxLostAttempts}: ` +
    `those attempts ended without a result${last === undefined ? '' : ` (the last one, attempt ${last.attempt}: ${last.reason})`}. ` +
    'Check that workers stay up and can reach the Temporal server; raise maxLostAttempts where crashes are expected.'
  );
}

interface ReadHeartbeat {
  attempt: number | undefined;
  elapsedMs: number;
  failures: AttemptFailure[];
  lost: LostAttempt[];
}

/** Narrows heartbeat details of any shape; anything unrecognised is ignored (and its attempts count as lost). */
function readHeartbeat(details: unknown): ReadHeartbeat {
  const empty: ReadHeartbeat = { attempt: undefined, elapsedMs: 0, failures: [], lost: [] };
  if (!isObject(details)) return empty;
  const d = details as Partial<Record<keyof RunTaskHeartbeat, unknown>>;
  const failures: AttemptFailure[] = [];
  const lost: LostAttempt[] = [];
  for (const entry of Array.isArray(d.earlier_attempts) ? d.earlier_attempts : []) {
    if (!isObject(entry) || !isAttempt(entry.attempt) || typeof entry.error_type !== 'string' || typeof entry.message !== 'string') continue;
    // Records written before lost attempts were listed apart carried them here, as error_type "lost".
    if (entry.error_type === 'lost') {
      lost.push({ attempt: entry.attempt, reason: entry.message, last_heartbeat_ms: null });
      continue;
    }
    // The activity wrote this entry from an envelope's error_type.
    failures.push({ attempt: entry.attempt, error_type: entry.error_type as AttemptFailure['error_type'], message: entry.message, duration_ms: nonNegative(entry.duration_ms) });
  }
  for (const entry of Array.isArray(d.lost_attempts) ? d.lost_attempts : []) {
    if (!isObject(entry) || !isAttempt(entry.attempt) || typeof entry.reason !== 'string') continue;
    const ran = entry.last_heartbeat_ms;
    lost.push({ attempt: entry.attempt, reason: entry.reason, last_heartbeat_ms: typeof ran === 'number' && ran >= 0 ? ran : null });
  }
  return { attempt: isAttempt(d.attempt) ? d.attempt : undefined, elapsedMs: nonNegative(d.elapsed_ms), failures, lost };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAttempt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function nonNegative(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
}
