/** Human-readable rendering of envelopes for the terminal. Every text that came from the guest goes through forTerminal. */
import { forTerminal as t } from './terminal-text.js';
import { formatBytes, formatCount } from '../config/units.js';
import type { Envelope } from '../sandbox/index.js';

const style = (interactive: boolean) => ({
  green: (s: string) => (interactive ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (interactive ? `\x1b[31m${s}\x1b[0m` : s),
  dim: (s: string) => (interactive ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (interactive ? `\x1b[1m${s}\x1b[0m` : s),
});

const n = formatCount;

function indent(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((line) => `  ${line}`).join('\n');
}

export function formatEnvelope(envelope: Envelope, interactive: boolean): string {
  const s = style(interactive);
  const x = envelope.execution;
  const figures = s.dim(
    `${n(x.duration_ms)} ms · fuel ${n(x.fuel_consumed)} / ${n(x.fuel_limit)} · ram ${formatBytes(x.ram_used)} / ${formatBytes(x.ram_limit)}` +
      (x.retries > 0 ? ` · retries ${x.retries}` : ''),
  );
  const lines: string[] = [];
  if (envelope.success) {
    lines.push(`${s.green('✔')} ${s.bold(t(x.task_name))} succeeded  ${figures}`);
    lines.push(s.bold('result:'), indent(t(JSON.stringify(envelope.result, null, 2) ?? 'null')));
  } else {
    lines.push(`${s.red('✖')} ${s.bold(t(x.task_name))} failed: ${s.red(envelope.error?.error_type ?? 'unknown')}  ${figures}`);
    lines.push(indent(t(envelope.error?.message ?? '')));
  }
  if (x.stdout) lines.push(s.bold('stdout:'), indent(t(x.stdout)));
  if (x.stderr) lines.push(s.bold('stderr:'), indent(t(x.stderr)));
  if (x.truncated) lines.push(s.dim('(output truncated at the capture limit)'));
  for (const n of x.narrowed ?? []) lines.push(s.dim(`narrowed ${n.option}: ${t(JSON.stringify(n.declared))} → ${t(JSON.stringify(n.granted))} (the caller's limit)`));
  for (const r of x.host_requests) lines.push(s.dim(`http ${t(r.method)} ${t(r.url)} → ${r.allowed ? (r.status ?? 'failed') : 'denied'}`));
  for (const d of x.denials) lines.push(s.dim(`denied ${d.capability} ${t(d.target)}: ${t(d.reason)}`));
  return lines.join('\n');
}
