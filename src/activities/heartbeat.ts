/**
 * One attempt's heartbeats. A retry's first beat goes out as the attempt starts, before anything can block (fetching
 * the code, starting the guest), and names the earlier attempts, so even a retry that dies within its first second
 * leaves the record behind. A first attempt has no earlier ones to record, and the server times it out from its start
 * whether it beat or not, so it skips that beat: each heartbeat RPC is a write to the workflow's state on the server
 * (~2 ms of its CPU, measured on a fan-out), and a fan-out of short steps paid two per step (docs/benchmarks.md,
 * issue 17). Then one a second from a timer on the worker's main thread, from 5 s into the
 * attempt (half the heartbeat timeout if that is shorter): guests run on sandbox threads, so a CPU-bound guest cannot
 * hold it back. Waiting that long first means an attempt that is short, or waits behind others for a sandbox thread,
 * writes nothing at all; a cancellation (the server's answer to a heartbeat) still reaches the guest within the 5 s
 * the worker's maxHeartbeatThrottleInterval already allows it later on. The SDK throttles what actually reaches the
 * server; the server keeps the last details for the next attempt.
 *
 * Before the attempt reports, `confirm()` makes sure the server is there: a step that finished while the server was
 * down would otherwise lose its result once the worker's own retries of the completion give up (about 10 s), and run
 * again. An attempt that ran past half its heartbeat timeout (or has none) confirms with a heartbeat, which also says
 * whether the server still waits for it; a shorter one cannot have been timed out yet, so asking whether the server
 * answers at all (GetSystemInfo: no write) is enough.
 */
import { ActivityCancelledError, ActivityNotFoundError, ActivityPausedError, ActivityResetError } from '@temporalio/client';
import type { Context } from '@temporalio/activity';
import type { RunProgress } from '../sandbox/index.js';
import { recordFields, type AttemptRecords } from '../workflows/attempts.js';
import type { AttemptFailure, LostAttempt, RunTaskHeartbeat } from '../workflows/shared.js';

const HEARTBEAT_INTERVAL_MS = 1000;
/** The first timed beat (MAX_HEARTBEAT_THROTTLE in worker/plugin.ts: the bound on cancellation latency). */
const FIRST_TIMED_BEAT_MS = 5000;
const CONFIRM_FIRST_RETRY_MS = 500;
const CONFIRM_MAX_RETRY_MS = 5000;
/** The server stops waiting for an attempt at its start-to-close timeout; stop confirming a little before. */
const CONFIRM_DEADLINE_MARGIN_MS = 1000;

export type Confirmation = 'waiting' | 'gone' | 'unreachable';

export class AttemptHeartbeat {
  private progress: RunProgress = { elapsedMs: 0, stdoutBytes: 0, stderrBytes: 0 };
  private failures: AttemptFailure[];
  private lost: LostAttempt[];
  private timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();

  constructor(
    private readonly ctx: Context,
    private readonly stepId: string,
    records: AttemptRecords,
  ) {
    this.failures = records.failures;
    this.lost = records.lost;
    if (ctx.info.attempt > 1) this.beat();
    const first = Math.min(FIRST_TIMED_BEAT_MS, (ctx.info.heartbeatTimeoutMs || Number.POSITIVE_INFINITY) / 2);
    this.timer = setTimeout(() => {
      this.beat();
      this.timer = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    }, first);
  }

  /** For the sandbox's onProgress: the next beats carry it. */
  readonly onProgress = (progress: RunProgress): void => {
    this.progress = progress;
  };

  /** This attempt failed on its own: the next attempt (if any) finds it among the task's failures. */
  recordFailure(failure: AttemptFailure): void {
    this.failures = [...this.failures, failure];
    this.beat();
  }

  /** This attempt ends without a result (handed back, or its infrastructure failed): the next one finds it lost. */
  recordLost(reason: string): void {
    this.lost = [...this.lost, { attempt: this.ctx.info.attempt, reason, last_heartbeat_ms: this.progress.elapsedMs }];
    this.beat();
  }

  /**
   * Waits until the server answers (and, for an attempt that ran long, confirms it still waits for this attempt),
   * retrying through an outage until the server would time the attempt out anyway. "gone": the server no longer
   * takes its result (it timed the attempt out, or the workflow closed); "unreachable": no answer in time, or the
   * attempt was cancelled meanwhile (a shutdown's grace ran out: report at once). Either way the caller still
   * reports: nothing is lost by trying.
   */
  async confirm(): Promise<Confirmation> {
    const deadline = this.startedAt + this.ctx.info.startToCloseTimeoutMs - CONFIRM_DEADLINE_MARGIN_MS;
    const cancelled = this.ctx.cancellationSignal;
    const heartbeatTimeout = this.ctx.info.heartbeatTimeoutMs;
    const short = heartbeatTimeout !== undefined && heartbeatTimeout > 0 && Date.now() - this.startedAt < heartbeatTimeout / 2;
    for (let delay = CONFIRM_FIRST_RETRY_MS; ; delay = Math.min(delay * 2, CONFIRM_MAX_RETRY_MS)) {
      try {
        if (short) await this.ctx.client.connection.workflowService.getSystemInfo({});
        else await this.ctx.client.activity.heartbeat(this.ctx.info.taskToken, this.details());
        return 'waiting';
      } catch (error) {
        if (error instanceof ActivityNotFoundError) return 'gone';
        // The server answered, and it still knows the attempt: cancellation and pauses are handled by the SDK.
        if (error instanceof ActivityCancelledError || error instanceof ActivityPausedError || error instanceof ActivityResetError) return 'waiting';
        if (cancelled.aborted || Date.now() + delay >= deadline) return 'unreachable';
        this.ctx.log.warn('the Temporal server did not answer; holding the step result until it does', { step: this.stepId, error: String(error) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay);
          cancelled.addEventListener('abort', done, { once: true });
          function done() {
            clearTimeout(timer);
            cancelled.removeEventListener('abort', done);
            resolve();
          }
        });
      }
    }
  }

  stop(): void {
    clearTimeout(this.timer); // the first beat's timeout or the interval after it: Node clears either
  }

  /** Earlier attempts, and this one once it recorded its failure or loss. */
  get records(): AttemptRecords {
    return { failures: this.failures, lost: this.lost };
  }

  private details(): RunTaskHeartbeat {
    return {
      step_id: this.stepId,
      attempt: this.ctx.info.attempt,
      ...recordFields(this.records),
      elapsed_ms: this.progress.elapsedMs,
      stdout_bytes: this.progress.stdoutBytes,
      stderr_bytes: this.progress.stderrBytes,
    };
  }

  private beat(): void {
    this.ctx.heartbeat(this.details());
  }
}
