/**
 * Decides what a guest path means on the host. The guest sees the run's base directory as its working
 * directory and nothing else: only relative paths inside an allowed directory resolve, writes need a read-write
 * grant, and the real path (after symlinks) must stay inside the grant. Node has no openat(), so the check is
 * made on resolved paths right before each synchronous operation; the guest cannot run code between the two.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AllowedFile, FileMode } from '../../config/task-options.js';

export interface FileGrant {
  /** As declared and normalised, e.g. "data" or "out/reports". */
  guestPath: string;
  /** Absolute host directory. */
  hostPath: string;
  mode: FileMode;
}

export type Access = 'read' | 'write';

export type PathDecision =
  | { ok: true; hostPath: string; guestPath: string; grant: FileGrant }
  | { ok: false; guestPath: string; reason: string };

export function grantsFor(allowedFiles: AllowedFile[], baseDir: string): FileGrant[] {
  return allowedFiles.map((f) => ({ guestPath: f.path, hostPath: path.resolve(baseDir, f.path), mode: f.mode }));
}

export class FilePolicy {
  constructor(private readonly grants: FileGrant[]) {}

  resolve(rawPath: string, access: Access): PathDecision {
    const shown = rawPath;
    if (rawPath.includes('\0')) return { ok: false, guestPath: shown, reason: 'the path contains a NUL byte' };
    if (rawPath.startsWith('/') || /^[A-Za-z]:[\\/]/.test(rawPath)) {
      return { ok: false, guestPath: shown, reason: 'absolute paths are not available in the sandbox; use a path relative to the task directory, such as ./data/file.txt' };
    }
    const guestPath = path.posix.normalize(rawPath.replaceAll('\\', '/')).replace(/\/+$/, '') || '.';
    if (guestPath === '..' || guestPath.startsWith('../')) {
      return { ok: false, guestPath: shown, reason: 'the path leaves the task directory' };
    }
    const grant = this.grants.find((g) => guestPath === g.guestPath || guestPath.startsWith(`${g.guestPath}/`));
    if (!grant) {
      const listed = this.grants.map((g) => `./${g.guestPath} (${g.mode})`).join(', ') || 'none';
      return { ok: false, guestPath: shown, reason: `not inside an allowed directory (allowedFiles: ${listed})` };
    }
    if (access === 'write' && grant.mode !== 'read-write') {
      return { ok: false, guestPath: shown, reason: `./${grant.guestPath} is read-only` };
    }
    const hostPath = path.join(grant.hostPath, path.posix.relative(grant.guestPath, guestPath));
    const escape = this.escapesThroughLinks(grant, hostPath);
    if (escape) return { ok: false, guestPath: shown, reason: escape };
    return { ok: true, hostPath, guestPath, grant };
  }

  /**
   * A symlink anywhere on the path may point out of the grant: compare the real path of the deepest existing
   * ancestor with the grant's real path. A regular file with several hard links may be the same inode as a
   * file outside the grant, and there is no way to tell which name is the original: refuse it.
   */
  private escapesThroughLinks(grant: FileGrant, hostPath: string): string | undefined {
    let rootReal: string;
    try {
      rootReal = realpathSync(grant.hostPath);
    } catch {
      return `./${grant.guestPath} no longer exists on the host`;
    }
    let existing = hostPath;
    while (!exists(existing)) {
      const parent = path.dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
    let real: string;
    try {
      real = realpathSync(existing);
    } catch {
      // A dangling symlink: its target is somewhere we cannot vouch for.
      return 'the path goes through a broken symbolic link';
    }
    if (real !== rootReal && !real.startsWith(`${rootReal}${path.sep}`)) {
      return 'the path goes through a symbolic link that points outside the allowed directory';
    }
    if (existing === hostPath) {
      const stats = statSync(hostPath);
      if (stats.isFile() && stats.nlink > 1) return 'the file has several hard links, so it may be a file outside the allowed directory';
    }
    return undefined;
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
