/**
 * Tool results. Every failure — a guest's error, a limit hit, a refused request, a missing file — is a result with
 * `isError: true` whose structured content carries the error type and message (an envelope's, for the execute
 * tools); protocol errors are left to the SDK, for requests that are not valid MCP at all. The text content is a
 * short rendering a model reads: the result first, then output, then what was denied.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { formatBytes } from '../config/units.js';
import { invalidTaskEnvelope, type Envelope, type ErrorType } from '../sandbox/index.js';

/** Denials listed in the text (all of them are in the structured content). */
const TEXT_DENIALS = 5;

/** The envelope of a call that never reached a sandbox. */
export function refusedEnvelope(errorType: ErrorType, message: string): Envelope {
  return { ...invalidTaskEnvelope('main', message), error: { error_type: errorType, message } };
}

/**
 * An execute tool's result: the envelope as structured content, its result cut to what the server returns (a
 * result larger than that fails the call, saying where to put large outputs instead).
 */
export function envelopeResult(envelope: Envelope, maxOutputBytes: number): CallToolResult {
  const size = envelope.success ? Buffer.byteLength(JSON.stringify(envelope.result) ?? 'null') : 0;
  const shown: Envelope = size <= maxOutputBytes ? envelope : {
    ...envelope,
    success: false,
    result: null,
    error: {
      error_type: 'task_error',
      message: `the result is ${formatBytes(size)} of JSON, more than this server returns (${formatBytes(maxOutputBytes)}): write large outputs to ./workspace/ in a session and read them with session_read`,
    },
  };
  return { content: [{ type: 'text', text: renderEnvelope(shown) }], structuredContent: shown as unknown as Record<string, unknown>, isError: !shown.success };
}

function renderEnvelope(envelope: Envelope): string {
  const { execution: x } = envelope;
  // A script's result is its stdout: shown once.
  const script = typeof envelope.result === 'string' && envelope.result === x.stdout && x.stdout !== '';
  const parts: string[] = [];
  if (envelope.success) {
    const text = typeof envelope.result === 'string' ? envelope.result : JSON.stringify(envelope.result, null, 2) ?? 'null';
    parts.push(text === '' ? '(no output)' : text);
  }
  else parts.push(`error (${envelope.error?.error_type ?? 'internal_error'}): ${envelope.error?.message ?? 'unknown'}`);
  if (x.stdout !== '' && !script) parts.push(`--- stdout ---\n${x.stdout}`);
  if (x.stderr !== '') parts.push(`--- stderr ---\n${x.stderr}`);
  if (x.truncated) parts.push('(output was cut at the server\'s limit)');
  if (x.denials.length > 0) {
    const listed = x.denials.slice(0, TEXT_DENIALS).map((d) => `- ${d.capability} ${d.target}: ${d.reason}`);
    if (x.denials.length > TEXT_DENIALS) listed.push(`- ... ${x.denials.length - TEXT_DENIALS} more`);
    parts.push(`denied:\n${listed.join('\n')}`);
  }
  return parts.join('\n');
}

/** A failure of a tool that is not an execution: `{ error: { error_type, message } }` plus the same as text. */
export function errorResult(errorType: ErrorType, message: string): CallToolResult {
  return { content: [{ type: 'text', text: `error (${errorType}): ${message}` }], structuredContent: { error: { error_type: errorType, message } }, isError: true };
}

export function okResult(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}
