/** A pipeline run on the terminal: its steps as a table, and its end state. Guest text goes through forTerminal. */
import { formatBytes } from '../config/units.js';
import type { LiveStep } from '../client/live-steps.js';
import type { RunOutcome } from '../client/outcome.js';
import { stepNote } from '../workflows/step-notes.js';
import type { StepRecord } from '../workflows/shared.js';
import { forTerminal } from './terminal-text.js';

/** Outputs longer than this (JSON characters) are shown as a preview; `capsule result --out FILE` writes them whole. */
const OUTPUT_PREVIEW_CHARS = 4000;

export function formatSteps(steps: StepRecord[], live: Map<string, LiveStep> = new Map()): string[] {
  const rows = steps.map((s) => {
    const now = s.status === 'running' ? live.get(s.id) : undefined;
    if (now !== undefined) {
      return [s.id, s.status, String(now.attempt), `${now.elapsedMs} ms`, '', now.lastFailure === undefined ? '' : `retrying after: ${now.lastFailure}`];
    }
    const exec = s.execution;
    const note = s.status === 'failed' ? s.error ? `${s.error.error_type}: ${s.error.message}` : s.failure ?? '' : '';
    const earlier = s.earlier_attempts?.map((a) => `#${a.attempt} ${a.error_type}`).join(', ') ?? '';
    const lost = s.lost_attempts?.map((a) => `#${a.attempt}`).join(', ') ?? '';
    const size = exec === undefined ? '' : formatBytes(exec.result_bytes);
    const duration = exec !== undefined ? `${exec.duration_ms} ms` : s.llm !== undefined ? `${s.llm.latency_ms} ms` : '';
    return [
      s.id, s.status, String(s.attempts), duration, exec === undefined ? '' : String(exec.fuel_consumed), size,
      [note, stepNote(s), earlier && `earlier: ${earlier}`, lost && `lost: ${lost}`].filter(Boolean).join('; '),
    ];
  });
  return table(['step', 'status', 'attempt', 'duration', 'fuel', 'result', 'notes'], rows.map((row) => row.map(forTerminal)));
}

/** `outputNote` replaces the output (e.g. "written to out.json"). */
export function formatOutcome(outcome: RunOutcome, uiUrl: string | undefined, outputNote?: string): string {
  const lines: string[] = [];
  if (outcome.result !== undefined) {
    lines.push(...formatSteps(outcome.result.steps), '');
    const t = outcome.result.totals;
    const earlier = outcome.result.earlier === undefined ? '' : ` (${outcome.result.earlier.steps} in ${outcome.result.earlier.runs} earlier run(s), not listed)`;
    lines.push(`totals: ${t.steps} step run(s)${earlier}, ${t.duration_ms} ms, fuel ${t.fuel_consumed}, ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'}, ${t.lost_attempts} lost attempt(s)`);
    if (outcome.status === 'succeeded') lines.push(`output: ${outputNote ?? forTerminal(preview(outcome.result.output, outcome.workflowId))}`);
  }
  lines.push(`${outcome.status === 'succeeded' ? 'succeeded' : outcome.status.toUpperCase()}${outcome.message === undefined ? '' : `: ${forTerminal(outcome.message)}`}`);
  lines.push(`workflow id: ${outcome.workflowId}`);
  if (uiUrl !== undefined) lines.push(`web UI: ${uiUrl}`);
  return lines.join('\n');
}

/** The output as indented JSON, or its beginning when it is long (a terminal is no place for megabytes). */
function preview(output: unknown, workflowId: string): string {
  const text = JSON.stringify(output, null, 2) ?? 'null';
  if (text.length <= OUTPUT_PREVIEW_CHARS) return text;
  return `${text.slice(0, OUTPUT_PREVIEW_CHARS)}\n… (${formatBytes(Buffer.byteLength(text))} in all; save it with: capsule result ${workflowId} --out FILE)`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
