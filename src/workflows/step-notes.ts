/**
 * The one line a step's kind adds where steps are listed (the Web UI's current details, `capsule status` and
 * `capsule run` tables, the MCP get_run text): an llm step's model, tokens and finish reason; a code step's source;
 * an approval's prompt or decision; why a step was skipped. Pure: workflow code and the CLI share it.
 */
import type { StepRecord } from './shared.js';

export function stepNote(s: StepRecord): string {
  if (s.reason !== undefined) return s.reason;
  if (s.llm !== undefined) {
    const usage = s.llm.usage === null ? '' : `, ${s.llm.usage.prompt_tokens}+${s.llm.usage.completion_tokens} tokens`;
    return `${s.llm.model}${usage}${s.llm.finish_reason === null ? '' : `, ${s.llm.finish_reason}`}`;
  }
  if (s.code !== undefined) {
    const ignored = s.code.ignored_options === undefined ? '' : `; its own ${s.code.ignored_options.join(', ')} ignored`;
    return `${s.code.language} code, ${s.code.size} bytes, sha256 ${s.code.sha256.slice(0, 12)}${ignored}`;
  }
  if (s.approval !== undefined) {
    const d = s.approval.decision;
    if (d === undefined) return `waiting: ${s.approval.prompt}`;
    return `${d.approved ? 'approved' : 'rejected'}${d.by === null ? '' : ` by ${d.by}`}${d.comment === null ? '' : `: ${d.comment}`}`;
  }
  return '';
}
