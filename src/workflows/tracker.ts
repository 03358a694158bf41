/**
 * Keeps a workflow's step records and publishes them: the progress query (for `capsule run`/`watch`), the Web UI's
 * current details (a Markdown table), and at the end the search attributes and memo that make runs findable.
 */
import { defineQuery, setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { formatCount } from '../config/units.js';
import { stepNote } from './step-notes.js';
import { failureReason } from './summary.js';
import { MEMO_KEY, PROGRESS_QUERY, SEARCH_ATTRIBUTE_KEYS as keys, type EarlierRuns, type PipelineProgress, type PipelineTotals, type StepRecord } from './shared.js';

/** What a workflow that continues as new hands its next run: when the chain started, and its earlier step runs. */
export interface CarriedProgress {
  /** Workflow time (ms) the first run started. */
  startedAt: number;
  earlier: EarlierRuns;
  fuel_consumed: number;
  retries: number;
  lost_attempts: number;
}

export const progressQuery = defineQuery<PipelineProgress>(PROGRESS_QUERY);

/** Above this many step runs, current details list only the ones not yet succeeded. */
const MAX_DETAIL_ROWS = 40;
/** Errors in the table are cut here; the full message is in the step's failure event and the result. */
const MAX_ERROR_CHARS = 120;

export class Tracker {
  private readonly records = new Map<string, StepRecord>();
  /** A publish is due at the end of this activation (see set()). */
  private publishDue = false;
  readonly startedAt: number;

  /**
   * `searchAttributes` is false when the server lacks Capsule's attributes: upserting unknown ones fails the task.
   * `carried`: the progress of earlier runs, when this workflow continued as new.
   */
  constructor(private readonly pipeline: string, private readonly searchAttributes: boolean, private readonly carried?: CarriedProgress) {
    this.startedAt = carried?.startedAt ?? Date.now();
    setHandler(progressQuery, () => ({ pipeline: this.pipeline, steps: this.list() }));
    if (searchAttributes) {
      upsertSearchAttributes([{ key: keys.pipeline, value: pipeline }, { key: keys.status, value: 'Running' }]);
    }
    this.publish();
  }

  set(record: StepRecord): void {
    this.records.set(record.id, record);
    // One publish per activation, after every record it changes: a fan-out's completions arrive together, and
    // rebuilding the table per record was quadratic in the fan-out's size. Microtasks run before the activation
    // completes, and current details are no command, so replay is unaffected.
    if (this.publishDue) return;
    this.publishDue = true;
    void Promise.resolve().then(() => {
      this.publishDue = false;
      this.publish();
    });
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string): StepRecord | undefined {
    return this.records.get(id);
  }

  list(): StepRecord[] {
    return [...this.records.values()];
  }

  /** Over every run of the workflow: this run's records plus what earlier runs carried over. */
  totals(): PipelineTotals {
    let fuel = this.carried?.fuel_consumed ?? 0;
    let retries = this.carried?.retries ?? 0;
    let lost = this.carried?.lost_attempts ?? 0;
    for (const record of this.records.values()) {
      fuel += record.execution?.fuel_consumed ?? 0;
      lost += record.lostAttempts;
      retries += Math.max(0, record.attempts - record.lostAttempts - 1);
    }
    return { duration_ms: Date.now() - this.startedAt, fuel_consumed: fuel, retries, lost_attempts: lost, steps: this.records.size + (this.carried?.earlier.steps ?? 0) };
  }

  /** Earlier runs' step counts, when this workflow continued as new. */
  earlier(): EarlierRuns | undefined {
    return this.carried?.earlier;
  }

  /** What the next run needs to go on counting (continue-as-new). */
  carry(): CarriedProgress {
    const totals = this.totals();
    return {
      startedAt: this.startedAt,
      earlier: { runs: (this.carried?.earlier.runs ?? 0) + 1, steps: totals.steps, counts: this.counts() },
      fuel_consumed: totals.fuel_consumed,
      retries: totals.retries,
      lost_attempts: totals.lost_attempts,
    };
  }

  /** CapsuleStatus while approval steps wait: `awaiting_approval` while `waiting` > 0, else back to Running. */
  awaiting(waiting: number): void {
    if (this.searchAttributes) upsertSearchAttributes([{ key: keys.status, value: waiting > 0 ? 'awaiting_approval' : 'Running' }]);
  }

  finish(status: 'Completed' | 'Failed', totals: PipelineTotals, failedStep?: string): void {
    if (this.searchAttributes) {
      upsertSearchAttributes([
        { key: keys.status, value: status },
        { key: keys.fuel, value: totals.fuel_consumed },
        ...(failedStep === undefined ? [] : [{ key: keys.failedStep, value: failedStep }]),
      ]);
    }
    // Totals plus per-status step counts: the UI shows the memo as JSON, readable without opening the result.
    upsertMemo({ [MEMO_KEY]: { pipeline: this.pipeline, status, totals, counts: this.counts(), ...(failedStep === undefined ? {} : { failedStep }) } });
  }

  /** How many step runs ended in each status (fan-out items count one each, earlier runs included), e.g. { succeeded: 7, failed: 1 }. */
  counts(): Partial<Record<StepRecord['status'], number>> {
    const counts: Partial<Record<StepRecord['status'], number>> = { ...this.carried?.earlier.counts };
    for (const r of this.records.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }

  private publish(): void {
    // Big fan-outs: one line of counts plus the rows worth looking at, so each update stays cheap and readable.
    const all = this.list();
    const shown = all.length <= MAX_DETAIL_ROWS ? all : all.filter((r) => r.status !== 'succeeded').slice(0, MAX_DETAIL_ROWS);
    const summary = Object.entries(this.counts()).map(([status, n]) => `${n} ${status}`).join(', ');
    const rows = shown.map((r) => {
      const exec = r.execution;
      const duration = exec !== undefined ? `${exec.duration_ms} ms` : r.llm !== undefined ? `${r.llm.latency_ms} ms` : '';
      const fuel = exec === undefined ? '' : formatCount(exec.fuel_consumed);
      // A running step's attempts are only known to its activity (see pending activities); 0 means "not yet known".
      const attempts = r.attempts === 0 ? '' : String(r.attempts);
      const lost = r.attempts === 0 ? '' : String(r.lostAttempts);
      const failed = r.status === 'failed' ? failureReason(r) : '';
      const notes = cell([failed, stepNote(r)].filter(Boolean).join('; '));
      return `| ${cell(r.id)} | ${r.status} | ${attempts} | ${lost} | ${duration} | ${fuel} | ${notes} |`;
    });
    const earlier = this.carried === undefined ? '' : ` (${this.carried.earlier.runs} earlier run${this.carried.earlier.runs === 1 ? '' : 's'} included)`;
    // Steps waiting for a person come first, with their prompt and the command that decides them.
    const waiting = all.filter((r) => r.status === 'awaiting_approval').flatMap((r) => [
      `**Awaiting approval: ${r.id}** — ${r.approval?.prompt ?? ''}`,
      `\`capsule approve ${workflowInfo().workflowId} ${r.id}\` (or \`--reject\`)`,
      '',
    ]);
    setCurrentDetails([
      `**${this.pipeline}**: ${summary || 'starting'}${earlier}`,
      '',
      ...waiting,
      '| step | status | attempts | lost | duration | fuel | notes |',
      '|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n'));
  }
}

/** A Markdown table cell: one line, no column breaks, short enough to keep the table readable. */
function cell(text: string): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return flat.length <= MAX_ERROR_CHARS ? flat : `${flat.slice(0, MAX_ERROR_CHARS - 1)}…`;
}
