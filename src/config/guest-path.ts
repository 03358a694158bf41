/**
 * The one parser for the relative paths tasks are granted and use: a task's `allowedFiles`, a mount's host and
 * guest sides, and every path a guest opens. It decides on the text alone (what exists is checked elsewhere:
 * task-options.ts when a grant is declared, host/granted-fs.ts at use); each caller words its own message.
 */
import path from 'node:path';

export type RelativePath =
  | { ok: true; /** Forward slashes, no "./", no trailing slash; "." for the directory itself. */ path: string }
  | { ok: false; problem: 'nul' | 'absolute' | 'outside' };

export function parseRelativePath(raw: string): RelativePath {
  if (raw.includes('\0')) return { ok: false, problem: 'nul' };
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) return { ok: false, problem: 'absolute' };
  const normalised = normaliseRelative(raw);
  if (normalised === '..' || normalised.startsWith('../')) return { ok: false, problem: 'outside' };
  return { ok: true, path: normalised };
}

/** A relative path as grants store it (see RelativePath); "..", when present, stays at the front. */
export function normaliseRelative(raw: string): string {
  return path.posix.normalize(raw.replaceAll('\\', '/')).replace(/\/+$/, '') || '.';
}
