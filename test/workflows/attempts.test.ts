/** The attempt bookkeeping behind the two retry budgets, as pure functions over heartbeat details. */
import { describe, expect, it } from 'vitest';
import { attemptsBefore, HANDED_BACK, lostAttemptsMessage, lostBudgetSpent, recordedAttempts, retriesSpent } from '../../src/workflows/attempts.js';
import type { RunTaskHeartbeat } from '../../src/workflows/shared.js';

const beat = (fields: Partial<RunTaskHeartbeat>): RunTaskHeartbeat => ({
  step_id: 'fetch[2]', attempt: 1, earlier_attempts: [], lost_attempts: [], elapsed_ms: 0, stdout_bytes: 0, stderr_bytes: 0, ...fields,
});
const failure = (attempt: number) => ({ attempt, error_type: 'task_error' as const, message: `boom ${attempt}`, duration_ms: 10 });

describe('attemptsBefore', () => {
  it('has nothing before the first attempt', () => {
    expect(attemptsBefore(undefined, 1)).toEqual({ failures: [], lost: [] });
  });

  it('counts an attempt that left no details at all as lost, without a heartbeat', () => {
    expect(attemptsBefore(undefined, 2)).toEqual({
      failures: [],
      lost: [{ attempt: 1, reason: expect.stringContaining('no heartbeat reached the server'), last_heartbeat_ms: null }],
    });
  });

  it('counts an attempt whose last heartbeat is the last word as lost, saying how far it got', () => {
    const records = attemptsBefore(beat({ attempt: 1, elapsed_ms: 4200 }), 2);
    expect(records.lost).toEqual([{ attempt: 1, reason: expect.stringContaining('after its last heartbeat (4200 ms into the run)'), last_heartbeat_ms: 4200 }]);
  });

  it('keeps recorded failures and losses apart and fills the gaps between them', () => {
    const details = beat({ attempt: 3, earlier_attempts: [failure(1), failure(3)], lost_attempts: [{ attempt: 2, reason: HANDED_BACK, last_heartbeat_ms: 900 }] });
    expect(attemptsBefore(details, 5)).toEqual({
      failures: [failure(1), failure(3)],
      lost: [{ attempt: 2, reason: HANDED_BACK, last_heartbeat_ms: 900 }, expect.objectContaining({ attempt: 4, last_heartbeat_ms: null })],
    });
  });

  it('ignores records of this attempt and later ones (details outlive the attempt that wrote them)', () => {
    expect(attemptsBefore(beat({ earlier_attempts: [failure(1), failure(2)] }), 2)).toEqual({ failures: [failure(1)], lost: [] });
  });

  it('reads records written before lost attempts were listed apart (error_type "lost")', () => {
    const old = { step_id: 's', earlier_attempts: [{ attempt: 1, error_type: 'lost', message: 'worker died', duration_ms: 0 }, failure(2)], elapsed_ms: 0 };
    expect(attemptsBefore(old, 3)).toEqual({ failures: [failure(2)], lost: [{ attempt: 1, reason: 'worker died', last_heartbeat_ms: null }] });
  });

  it('treats malformed details as no record: every earlier attempt is lost', () => {
    for (const junk of ['text', 42, null, [], { earlier_attempts: 'nope' }, { earlier_attempts: [{ attempt: 0, error_type: 'task_error', message: 'x' }, { attempt: 1.5 }] }]) {
      const records = attemptsBefore(junk, 3);
      expect(records.failures).toEqual([]);
      expect(records.lost.map((l) => l.attempt)).toEqual([1, 2]);
    }
  });

  it('lets a failure win over a loss recorded for the same attempt', () => {
    const details = beat({ earlier_attempts: [failure(1)], lost_attempts: [{ attempt: 1, reason: 'x', last_heartbeat_ms: null }] });
    expect(attemptsBefore(details, 2)).toEqual({ failures: [failure(1)], lost: [] });
  });
});

describe('recordedAttempts', () => {
  it('reads exactly what a record lists, with no gaps filled', () => {
    const details = { earlier_attempts: [failure(2)], lost_attempts: [{ attempt: 4, reason: HANDED_BACK, last_heartbeat_ms: null }] };
    expect(recordedAttempts(details)).toEqual({ failures: [failure(2)], lost: [{ attempt: 4, reason: HANDED_BACK, last_heartbeat_ms: null }] });
  });
});

describe('the two budgets', () => {
  const budgets = { maxRetries: 1, maxLostAttempts: 2 };

  it('spends maxRetries on the task\'s own failures only', () => {
    expect(retriesSpent({ failures: [], lost: [] }, { maxRetries: 0, maxLostAttempts: 10 })).toBe(true);
    expect(retriesSpent({ failures: [], lost: attemptsBefore(undefined, 6).lost }, budgets)).toBe(false);
    expect(retriesSpent({ failures: [failure(1)], lost: [] }, budgets)).toBe(true);
  });

  it('spends maxLostAttempts on lost attempts only, once they are more than the budget', () => {
    expect(lostBudgetSpent(attemptsBefore(undefined, 3), budgets)).toBe(false);
    expect(lostBudgetSpent(attemptsBefore(undefined, 4), budgets)).toBe(true);
    expect(lostBudgetSpent({ failures: [failure(1), failure(2), failure(3)], lost: [] }, budgets)).toBe(false);
  });

  it('says which step, how often it was lost, the budget, and the last reason', () => {
    const records = attemptsBefore(beat({ attempt: 3, elapsed_ms: 50, lost_attempts: [{ attempt: 1, reason: HANDED_BACK, last_heartbeat_ms: 10 }], earlier_attempts: [failure(2)] }), 4);
    expect(lostAttemptsMessage('fetch[2]', records, { maxRetries: 3, maxLostAttempts: 1 })).toBe(
      'step "fetch[2]" was lost 2 time(s), more than its maxLostAttempts of 1: those attempts ended without a result (the last one, attempt 3: ' +
        'no result after its last heartbeat (50 ms into the run): its worker died or was cut off, or the server lost the task). ' +
        'Check that workers stay up and can reach the Temporal server; raise maxLostAttempts where crashes are expected.',
    );
  });
});
