/**
 * What a guest path means, decided on the path alone (no file-system access here; host/granted-fs.ts enforces the
 * decision at use). The guest sees the run's base directory as its working directory and nothing else: only
 * relative paths inside a granted directory resolve, and the answer names the grant and the components below it,
 * never a host path.
 *
 * Overlapping grants combine by one rule: **the narrower mode wins for the deeper path**. A path covered by several
 * grants (`data` read-write and `data/ref` read-only) gets the most restrictive of their modes, so nesting can only
 * take rights away. The host applies the same rule to directories it meets while walking (a grant's root reached
 * through another grant), so aliases (mounts) cannot dodge it.
 */
import { parseRelativePath } from '../../config/guest-path.js';
import type { FileMode } from '../../config/task-options.js';

export interface FileGrant {
  /** Where the guest sees it, normalised: "data", "out/reports", or "." for the whole base directory. */
  guestPath: string;
  /** Trusted host directory the grant is relative to (the run's base directory; links in it are the operator's). */
  base: string;
  /** The granted directory below `base`, normalised and relative ("data", "sessions/abc"); "." is `base` itself. */
  hostPath: string;
  mode: FileMode;
  /**
   * Directories below the grant's root (relative to it, normalised) that it does not reach into: Capsule's own state
   * inside a granted directory. Paths in them are refused as outside every grant (unless another grant names them),
   * they are left out of listings, and the directories holding them cannot be removed or renamed.
   */
  excluded?: string[];
}

export type Access = 'read' | 'write';

/** A guest path inside a grant: the grant (by index) and the path's components below its root. */
export interface GrantedPath {
  ok: true;
  grant: number;
  /** Components below the grant's root; empty for the root itself. Never "", "." or "..". */
  rest: string[];
  /** The normalised guest path ("data/in.txt"). */
  guestPath: string;
  /** The narrowest mode of every grant covering the path, and the grant that set it (for messages). */
  mode: FileMode;
  modeFrom: string;
}

export type PathDecision = GrantedPath | { ok: false; reason: string };

export const READ_ONLY_REASON = (guestPath: string) => `${shown(guestPath)} is read-only`;

/** "./data", or "." for the base directory: how messages name a grant. */
export function shown(guestPath: string): string {
  return guestPath === '.' ? '.' : `./${guestPath}`;
}

export function narrower(a: FileMode, b: FileMode): FileMode {
  return a === 'read-only' || b === 'read-only' ? 'read-only' : 'read-write';
}

/** `child` is `parent` or lies below it (guest or relative host paths, normalised; "." contains everything). */
export function within(child: string, parent: string): boolean {
  return parent === '.' || child === parent || child.startsWith(`${parent}/`);
}

const UNUSABLE_PATH = {
  nul: 'the path contains a NUL byte',
  absolute: 'absolute paths are not available in the sandbox; use a path relative to the task directory, such as ./data/file.txt',
  outside: 'the path leaves the task directory',
} as const;

/** The names a listing of the directory `rest` (components below a grant's root) leaves out: its excluded children. */
export function excludedNames(excluded: readonly string[], rest: readonly string[]): Set<string> {
  const here = rest.join('/');
  const names = new Set<string>();
  for (const path of excluded) {
    const slash = path.lastIndexOf('/');
    if ((slash === -1 ? '' : path.slice(0, slash)) === here) names.add(path.slice(slash + 1));
  }
  return names;
}

export class FilePolicy {
  constructor(readonly grants: readonly FileGrant[]) {}

  resolve(rawPath: string, access: Access): PathDecision {
    const parsed = parseRelativePath(rawPath);
    if (!parsed.ok) return { ok: false, reason: UNUSABLE_PATH[parsed.problem] };
    const guestPath = parsed.path;
    let deepest = -1;
    let mode = 'read-write' as FileMode;
    let modeFrom = '';
    this.grants.forEach((grant, index) => {
      if (!within(guestPath, grant.guestPath)) return;
      if (deepest === -1 || grant.guestPath.length > this.grants[deepest]!.guestPath.length) deepest = index;
      if (modeFrom === '' || narrower(mode, grant.mode) !== mode) {
        mode = narrower(mode, grant.mode);
        modeFrom = grant.guestPath;
      }
    });
    if (deepest === -1) {
      const listed = this.grants.map((g) => `${shown(g.guestPath)} (${g.mode})`).join(', ') || 'none';
      return { ok: false, reason: `not inside an allowed directory (allowedFiles: ${listed})` };
    }
    if (access === 'write' && mode === 'read-only') return { ok: false, reason: READ_ONLY_REASON(modeFrom) };
    const grant = this.grants[deepest]!;
    const root = grant.guestPath;
    const rest = root === '.' ? (guestPath === '.' ? [] : guestPath.split('/')) : guestPath.slice(root.length).split('/').filter(Boolean);
    const below = rest.join('/') || '.';
    for (const excluded of grant.excluded ?? []) {
      if (within(below, excluded)) return { ok: false, reason: `${shown(guestPath)} is not available in the sandbox` };
      if (access === 'write' && within(excluded, below)) return { ok: false, reason: `${shown(guestPath)} holds a directory that is not available in the sandbox` };
    }
    return { ok: true, grant: deepest, rest, guestPath, mode, modeFrom };
  }
}
