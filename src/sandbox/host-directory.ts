/**
 * The host's own access to a directory that guests also write (an MCP session's scratch directory), through the same
 * enforcement a guest's file calls get: FilePolicy decides each relative path, GrantedFs walks it from the held
 * directory descriptor without following any link, and the directory's quota counts every write. So listing,
 * reading, writing and clearing on the host behave exactly as the guest's calls do, and a link or a FIFO someone
 * planted in the directory reads nothing and blocks nothing. Errors carry the path as given, never a host path.
 */
import type { FileMode } from '../config/task-options.js';
import type { DirectoryQuota } from './directory-quota.js';
import { FdLedger } from './host/fd-ledger.js';
import { FsFailure, Refused } from './host/grant-roots.js';
import { GrantedFs } from './host/granted-fs.js';
import { QuotaLedger } from './host/quota-ledger.js';
import { FilePolicy, type GrantedPath } from './policy/file-policy.js';
import { DirectoryAccessError } from './errors.js';

export interface DirectoryEntry {
  /** Relative to the directory, with "/" between components. */
  path: string;
  type: 'file' | 'directory' | 'other';
  /** Bytes, for files. */
  size: number;
}

/** A listing stops here: a tool's answer is no place for a million names. */
const MAX_LISTED = 10_000;
const MAX_DEPTH = 64;

export class HostDirectory {
  private constructor(
    private readonly policy: FilePolicy,
    private readonly files: GrantedFs,
  ) {}

  /**
   * `hostPath` is relative to `baseDir` (normalised, as a mount's host path); `maxReadBytes` caps what one read
   * returns. The caller closes it (its descriptors are its own).
   */
  static open(baseDir: string, hostPath: string, options: { mode: FileMode; maxReadBytes: number; quota?: DirectoryQuota }): HostDirectory {
    const grants = [{ guestPath: '.', base: baseDir, hostPath, mode: options.mode }];
    const quotas = options.quota === undefined ? [] : [new QuotaLedger(options.quota.grant)];
    return new HostDirectory(new FilePolicy(grants), GrantedFs.open(grants, new FdLedger(), options.maxReadBytes, quotas));
  }

  close(): void {
    this.files.close();
  }

  /** Every entry, depth first, sorted by path; `truncated` when there were more than MAX_LISTED. */
  list(): { entries: DirectoryEntry[]; truncated: boolean } {
    const entries: DirectoryEntry[] = [];
    let truncated = false;
    const walk = (dir: string, depth: number) => {
      const children = this.attempt(dir, () => this.files.readdir(this.target(dir, 'read'))).sort((a, b) => a.name.localeCompare(b.name));
      for (const child of children) {
        if (entries.length >= MAX_LISTED) {
          truncated = true;
          return;
        }
        const relative = dir === '.' ? child.name : `${dir}/${child.name}`;
        if (child.type === 'file') {
          entries.push({ path: relative, type: 'file', size: Number(this.attempt(relative, () => this.files.stat(this.target(relative, 'read'), false)).size) });
        } else if (child.type === 'directory') {
          entries.push({ path: relative, type: 'directory', size: 0 });
          if (depth < MAX_DEPTH) walk(relative, depth + 1);
        } else {
          entries.push({ path: relative, type: 'other', size: 0 });
        }
      }
    };
    walk('.', 0);
    return { entries, truncated };
  }

  read(relative: string): Buffer {
    return this.attempt(relative, () => this.files.readFile(this.target(relative, 'read')));
  }

  /** Writes (or replaces) a file, creating the directories above it. */
  write(relative: string, data: Buffer): void {
    const target = this.target(relative, 'write');
    if (target.rest.length === 0) throw new DirectoryAccessError('EISDIR', `${relative}: is the directory itself; name a file in it`);
    if (target.rest.length > 1) {
      const parent = target.guestPath.split('/').slice(0, -1).join('/');
      this.attempt(relative, () => this.files.mkdir(this.target(parent, 'write'), true));
    }
    this.attempt(relative, () => this.files.writeFile(target, data, false));
  }

  /** Removes everything inside the directory (the directory itself stays). */
  clear(): void {
    for (const child of this.attempt('.', () => this.files.readdir(this.target('.', 'write')))) {
      this.attempt(child.name, () => this.files.rm(this.target(child.name, 'write'), true, true));
    }
  }

  private target(relative: string, access: 'read' | 'write'): GrantedPath {
    const decision = this.policy.resolve(relative, access);
    if (!decision.ok) throw new DirectoryAccessError('EACCES', `${relative}: ${decision.reason.replace(/ \(allowedFiles: .*\)$/, '')}`);
    return decision;
  }

  /** Host errors become DirectoryAccessErrors naming the path as given (their messages would name host paths). */
  private attempt<T>(relative: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (error instanceof DirectoryAccessError) throw error;
      if (error instanceof Refused) throw new DirectoryAccessError('EACCES', `${relative}: ${error.message}`);
      if (error instanceof FsFailure) throw new DirectoryAccessError(error.code, `${relative}: ${error.message}`);
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (typeof code === 'string') throw new DirectoryAccessError(code, `${relative}: ${HOST_ERRORS[code] ?? code}`);
      throw error;
    }
  }
}

const HOST_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  ENOSPC: 'no space left on the device',
};
