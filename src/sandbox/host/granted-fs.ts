/**
 * File operations on granted directories, enforced at use. Node has no openat(), but on Linux a path through
 * `/proc/self/fd/<dirfd>/<name>` resolves `<name>` inside the directory that descriptor holds, whatever has
 * happened to the directory's path since: so a directory descriptor is held for every grant's root, each path is
 * walked one component at a time from it with O_NOFOLLOW | O_DIRECTORY, and the final name is acted on relative to
 * its pinned parent. No symbolic link is ever followed (a link, wherever it points, is refused), so swapping a
 * directory for a link mid-walk gains nothing: a race can only make a call fail.
 *
 * Files are checked before they are opened (lstat through the pinned parent: regular files only, one hard link)
 * and the opened handle is checked again (fstat: the same inode). FIFOs, sockets and devices are refused before
 * any open, and every open has O_NONBLOCK as well, so no call can block its thread (a thread stuck in a system call
 * cannot be terminated). Grant roots cannot be removed or renamed, nor any directory holding one. Descriptors are
 * counted in the thread's FdLedger; Node closes the ones a terminated thread still held.
 *
 * A directory with a quota (quota-ledger.ts) is recognised by where a call's parent directory really is (the path
 * its descriptor holds), whichever grant the walk started from: every growth below it is reserved before it is
 * written, every removal gives its room back, and a rename across its edge is EXDEV (as across file systems), so
 * nothing moves in or out uncounted.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { FileMode } from '../../config/task-options.js';
import { excludedNames, type FileGrant, type GrantedPath, narrower, READ_ONLY_REASON } from '../policy/file-policy.js';
import { FdLedger } from './fd-ledger.js';
import { type Covering, type QuotaLedger, Quotas } from './quota-ledger.js';
import {
  at, codeOf, DIRECTORY_FLAGS, FsFailure, HARD_LINK_REASON, HOLDS_ROOT_REASON, identity, isLink, LINK_REASON, openRoots, Refused, ROOT_REASON,
  type Root, SPECIAL_REASON, type Stats,
} from './grant-roots.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const FILE_FLAGS = O_NOFOLLOW | O_NONBLOCK;
const MAX_TREE_DEPTH = 128;
const MAX_LISTED_ENTRIES = 100_000;
const READ_CHUNK = 1 << 20;
/** Names whole-file writes fill before they replace the target (never a name a guest would pick). */
const TEMP_PREFIX = '.capsule-write-';

/** An open directory on a walk, with the mode the walk has narrowed to so far. */
interface Dir {
  fd: number;
  owned: boolean;
  mode: FileMode;
  modeFrom: string;
}

export class GrantedFs {
  /** No grants: what an instance prepared ahead of its run sees (the policy refuses every path before this). */
  static readonly NONE = new GrantedFs([], new FdLedger(), 0, new Quotas([]));

  private constructor(
    private readonly roots: Root[],
    private readonly ledger: FdLedger,
    private readonly maxReadBytes: number,
    private readonly quotas: Quotas,
  ) {}

  /** Opens every grant's root (walking its host path without following links) and derives the combined modes. */
  static open(grants: readonly FileGrant[], ledger: FdLedger, maxReadBytes: number, quotas: readonly QuotaLedger[] = []): GrantedFs {
    return new GrantedFs(openRoots(grants, ledger), ledger, maxReadBytes, new Quotas(quotas));
  }

  close(): void {
    for (const root of this.roots) if (root.fd !== null) this.ledger.close(root.fd);
    this.roots.length = 0;
  }

  readFile(target: GrantedPath): Buffer {
    return this.inParent(target, (dir, name) => {
      if (name === null) throw new FsFailure('EISDIR', 'illegal operation on a directory');
      const before = this.lstat(dir, name);
      checkRegular(before);
      if (before.size > BigInt(this.maxReadBytes)) throw tooLarge(this.maxReadBytes);
      const fd = this.openFile(dir, name, O_RDONLY, before);
      try {
        return readAll(fd, Number(before.size), this.maxReadBytes);
      } finally {
        this.ledger.close(fd);
      }
    });
  }

  /**
   * A whole-file write never touches an existing inode: the data goes into a new file beside the name, which then
   * replaces it (rename). A hard link that a host process swaps in under the name — whose link count can drop back
   * to one between any check and the write, the one race the checks cannot close — is replaced, never written
   * through, so no file outside the grant changes. Appends write in place, after the same checks as reads.
   */
  writeFile(target: GrantedPath, data: Buffer, append: boolean): void {
    this.inParent(target, (dir, name) => {
      if (name === null) throw new FsFailure('EISDIR', 'illegal operation on a directory');
      requireWrite(dir);
      const existing = this.lstatIfExists(dir, name);
      if (existing) checkRegular(existing);
      if (append && existing) return this.appendInPlace(dir, name, data, existing);
      const temp = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
      const fd = this.openFile(dir, temp, O_WRONLY | O_CREAT | O_EXCL);
      let undo: (() => void) | undefined;
      let renamed = false;
      try {
        undo = this.quotasOf(dir).reserve(data.length - (existing ? Number(existing.size) : 0), existing ? 0 : 1);
        let written = 0;
        while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
        fs.renameSync(at(dir.fd, temp), at(dir.fd, name));
        renamed = true;
      } catch (error) {
        undo?.();
        throw error;
      } finally {
        this.ledger.close(fd);
        // A write that could not finish leaves no file behind (nor counts one).
        if (!renamed) this.unlinkQuietly(dir, temp);
      }
    });
  }

  private appendInPlace(dir: Dir, name: string, data: Buffer, existing: Stats): void {
    const fd = this.openFile(dir, name, O_WRONLY | O_APPEND, existing);
    let undo: (() => void) | undefined;
    try {
      undo = this.quotasOf(dir).reserve(data.length, 0);
      let written = 0;
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
    } catch (error) {
      undo?.();
      throw error;
    } finally {
      this.ledger.close(fd);
    }
  }

  readdir(target: GrantedPath): { name: string; type: 'file' | 'directory' | 'symlink' | 'other' }[] {
    const dir = this.descend(this.root(target), target.rest);
    try {
      const hidden = excludedNames(this.roots[target.grant]?.excluded ?? [], target.rest);
      const entries = fs.readdirSync(at(dir.fd), { withFileTypes: true }).filter((e) => !hidden.has(e.name));
      if (entries.length > MAX_LISTED_ENTRIES) throw new FsFailure('EFBIG', `the directory has more than ${MAX_LISTED_ENTRIES} entries`);
      return entries.map((e) => ({ name: e.name, type: e.isFile() ? 'file' : e.isDirectory() ? 'directory' : e.isSymbolicLink() ? 'symlink' : 'other' }));
    } finally {
      this.release(dir);
    }
  }

  /** `follow`: stat() rather than lstat(); links are never followed, so stat() of a link is refused. */
  stat(target: GrantedPath, follow: boolean): Stats {
    return this.inParent(target, (dir, name) => {
      const stats = name === null ? fs.fstatSync(dir.fd, { bigint: true }) : this.lstat(dir, name);
      if (follow && stats.isSymbolicLink()) throw new Refused(LINK_REASON);
      if (stats.isFile() && stats.nlink > 1n) throw new Refused(HARD_LINK_REASON);
      return stats;
    });
  }

  /** Returns the guest path of the first directory it created (as Node's mkdir returns), or null. */
  mkdir(target: GrantedPath, recursive: boolean): string | null {
    if (!recursive) {
      return this.inParent(target, (dir, name) => {
        if (name === null) throw new FsFailure('EEXIST', 'file already exists');
        requireWrite(dir);
        this.quotasOf(dir).counted(0, 1, () => fs.mkdirSync(at(dir.fd, name), 0o777));
        return null;
      });
    }
    let first: string | null = null;
    let dir = this.root(target);
    try {
      for (const [index, name] of target.rest.entries()) {
        let next: Dir;
        try {
          next = this.enter(dir, name);
        } catch (error) {
          if (codeOf(error) !== 'ENOENT') throw error;
          requireWrite(dir);
          const parent = dir;
          this.quotasOf(parent).counted(0, 1, () => fs.mkdirSync(at(parent.fd, name), 0o777));
          first ??= guestPrefix(target, index);
          next = this.enter(dir, name);
        }
        this.release(dir);
        dir = next;
      }
      return first;
    } finally {
      this.release(dir);
    }
  }

  rm(target: GrantedPath, recursive: boolean, force: boolean): void {
    this.inParent(target, (dir, name) => {
      if (name === null) throw new Refused(ROOT_REASON);
      requireWrite(dir);
      const stats = this.lstatIfExists(dir, name);
      if (!stats) {
        if (force) return;
        throw new FsFailure('ENOENT', 'no such file or directory');
      }
      if (!stats.isDirectory()) return this.removeFile(dir, name, stats);
      if (!recursive) throw new FsFailure('EISDIR', 'path is a directory (use recursive)');
      this.refuseRootsIn(dir, name, stats);
      const freed = { bytes: 0, entries: 0 };
      try {
        this.removeTree(dir.fd, name, 0, freed);
      } finally {
        // What was removed is given back even when the removal stopped half way.
        this.quotasOf(dir).release(freed.bytes, freed.entries);
      }
    });
  }

  rmdir(target: GrantedPath): void {
    this.inParent(target, (dir, name) => {
      if (name === null) throw new Refused(ROOT_REASON);
      requireWrite(dir);
      const stats = this.lstat(dir, name);
      if (!stats.isDirectory()) throw new FsFailure('ENOTDIR', 'not a directory');
      this.refuseRootsIn(dir, name, stats);
      fs.rmdirSync(at(dir.fd, name));
      this.quotasOf(dir).release(0, 1);
    });
  }

  unlink(target: GrantedPath): void {
    this.inParent(target, (dir, name) => {
      if (name === null) throw new Refused(ROOT_REASON);
      requireWrite(dir);
      const stats = this.lstat(dir, name);
      if (stats.isDirectory()) throw new FsFailure('EISDIR', 'illegal operation on a directory');
      this.removeFile(dir, name, stats);
    });
  }

  rename(from: GrantedPath, to: GrantedPath): void {
    this.inParent(from, (source, sourceName) =>
      this.inParent(to, (destination, destinationName) => {
        if (sourceName === null || destinationName === null) throw new Refused(ROOT_REASON);
        requireWrite(source);
        requireWrite(destination);
        const moving = this.lstat(source, sourceName);
        if (moving.isDirectory()) this.refuseRootsIn(source, sourceName, moving);
        const replaced = this.lstatIfExists(destination, destinationName);
        if (replaced?.isDirectory()) this.refuseRootsIn(destination, destinationName, replaced);
        const quotas = this.quotasOf(source);
        if (!quotas.same(this.quotasOf(destination))) {
          throw new FsFailure('EXDEV', 'cross-device link not permitted (the source and the destination count against different quotas: copy, then remove)');
        }
        fs.renameSync(at(source.fd, sourceName), at(destination.fd, destinationName));
        if (replaced) quotas.release(replaced.isFile() ? Number(replaced.size) : 0, 1);
      }),
    );
  }

  /** Runs `action` with the target's parent directory open (the root itself has no name in a parent: null). */
  private inParent<T>(target: GrantedPath, action: (dir: Dir, name: string | null) => T): T {
    const last = target.rest.length - 1;
    const dir = this.descend(this.root(target), target.rest.slice(0, Math.max(0, last)));
    try {
      return action(dir, last < 0 ? null : target.rest[last]!);
    } finally {
      this.release(dir);
    }
  }

  private root(target: GrantedPath): Dir {
    const root = this.roots[target.grant];
    if (!root || root.fd === null) throw new Refused(root?.unavailable ?? 'the grant is not open');
    const mode = narrower(target.mode, root.mode);
    return { fd: root.fd, owned: false, mode, modeFrom: mode === target.mode ? target.modeFrom : root.modeFrom };
  }

  /** Opens each directory along `names`, never following a link; the caller releases the result. */
  private descend(start: Dir, names: readonly string[]): Dir {
    let dir = start;
    for (const name of names) {
      let next: Dir;
      try {
        next = this.enter(dir, name);
      } catch (error) {
        this.release(dir);
        throw error;
      }
      this.release(dir);
      dir = next;
    }
    return dir;
  }

  /** One step down: the child directory, with the mode narrowed if it is some grant's root. */
  private enter(dir: Dir, name: string): Dir {
    let fd: number;
    try {
      fd = this.ledger.track(fs.openSync(at(dir.fd, name), DIRECTORY_FLAGS));
    } catch (error) {
      if (isLink(error, dir.fd, name)) throw new Refused(LINK_REASON);
      throw error;
    }
    // Another grant's root can only be met on the way when there is another grant.
    const root = this.roots.length > 1 ? this.rootWithId(identity(fs.fstatSync(fd, { bigint: true }))) : undefined;
    const mode = root ? narrower(dir.mode, root.mode) : dir.mode;
    return { fd, owned: true, mode, modeFrom: mode === dir.mode ? dir.modeFrom : root!.modeFrom };
  }

  private release(dir: Dir): void {
    if (dir.owned) this.ledger.close(dir.fd);
  }

  private rootWithId(id: string): Root | undefined {
    return this.roots.find((root) => root.fd !== null && root.id === id);
  }

  private lstat(dir: Dir, name: string): Stats {
    return fs.lstatSync(at(dir.fd, name), { bigint: true });
  }

  private lstatIfExists(dir: Dir, name: string): Stats | undefined {
    try {
      return this.lstat(dir, name);
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Opens a regular file and re-checks the handle: still a regular file with one link, the inode that was checked. */
  private openFile(dir: Dir, name: string, flags: number, expected?: Stats): number {
    let fd: number;
    try {
      fd = this.ledger.track(fs.openSync(at(dir.fd, name), flags | FILE_FLAGS, 0o666));
    } catch (error) {
      if (codeOf(error) === 'ELOOP') throw new Refused(LINK_REASON);
      throw error;
    }
    const opened = fs.fstatSync(fd, { bigint: true });
    const problem = !opened.isFile() ? SPECIAL_REASON
      : opened.nlink > 1n ? HARD_LINK_REASON
      : expected && identity(opened) !== identity(expected) ? 'the file was replaced while it was being opened'
      : undefined;
    if (problem) {
      this.ledger.close(fd);
      throw new Refused(problem);
    }
    return fd;
  }

  /** A grant's root, or a directory that holds one (in the host's current layout), cannot be removed or moved. */
  private refuseRootsIn(dir: Dir, name: string, stats: Stats): void {
    if (this.rootWithId(identity(stats))) throw new Refused(ROOT_REASON);
    const place = `${fs.readlinkSync(at(dir.fd)).replace(/\/$/, '')}/${name}`;
    for (const root of this.roots) {
      if (root.fd !== null && fs.readlinkSync(at(root.fd)).startsWith(`${place}/`)) throw new Refused(HOLDS_ROOT_REASON);
    }
  }

  /** rm -r through descriptors: each level opened without following links, entries removed relative to it. */
  private removeTree(parentFd: number, name: string, depth: number, freed: { bytes: number; entries: number }): void {
    if (depth > MAX_TREE_DEPTH) throw new FsFailure('ELOOP', `the directory tree is more than ${MAX_TREE_DEPTH} levels deep`);
    const dir = this.enter({ fd: parentFd, owned: false, mode: 'read-write', modeFrom: '' }, name);
    try {
      if (this.rootWithId(identity(fs.fstatSync(dir.fd, { bigint: true })))) throw new Refused(ROOT_REASON);
      for (const entry of fs.readdirSync(at(dir.fd), { withFileTypes: true })) {
        if (entry.isDirectory()) {
          this.removeTree(dir.fd, entry.name, depth + 1, freed);
          continue;
        }
        const size = entry.isFile() && this.quotas.any ? Number(fs.lstatSync(at(dir.fd, entry.name)).size) : 0;
        fs.unlinkSync(at(dir.fd, entry.name));
        freed.bytes += size;
        freed.entries++;
      }
    } finally {
      this.release(dir);
    }
    fs.rmdirSync(at(parentFd, name));
    freed.entries++;
  }

  /** The quotas a change inside `dir` counts against: those covering where the directory really is. */
  private quotasOf(dir: Dir): Covering {
    return this.quotas.covering(() => fs.readlinkSync(at(dir.fd)));
  }

  private removeFile(dir: Dir, name: string, stats: Stats): void {
    fs.unlinkSync(at(dir.fd, name));
    this.quotasOf(dir).release(stats.isFile() ? Number(stats.size) : 0, 1);
  }

  private unlinkQuietly(dir: Dir, name: string): void {
    try {
      fs.unlinkSync(at(dir.fd, name));
    } catch {
      // Gone already, or not ours to remove: the write's own error is the one to report.
    }
  }
}

function requireWrite(dir: Dir): void {
  if (dir.mode === 'read-only') throw new Refused(READ_ONLY_REASON(dir.modeFrom));
}

function checkRegular(stats: Stats): void {
  if (stats.isSymbolicLink()) throw new Refused(LINK_REASON);
  if (stats.isDirectory()) throw new FsFailure('EISDIR', 'illegal operation on a directory');
  if (!stats.isFile()) throw new Refused(SPECIAL_REASON);
  if (stats.nlink > 1n) throw new Refused(HARD_LINK_REASON);
}

function tooLarge(limit: number): FsFailure {
  return new FsFailure('EFBIG', `the file is larger than the task's memory (${limit} bytes)`);
}

/**
 * Reads to the end: one read for a file whose size was known (a short read of a regular file is its end), more if it
 * grew since; the limit holds either way.
 */
function readAll(fd: number, expectedSize: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let size = Math.min(expectedSize + 1, READ_CHUNK);
  for (;;) {
    const chunk = Buffer.allocUnsafe(size);
    const read = fs.readSync(fd, chunk, 0, size, null);
    total += read;
    if (total > limit) throw tooLarge(limit);
    chunks.push(chunk.subarray(0, read));
    if (read < size) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
    size = READ_CHUNK;
  }
}

/** The guest path of the first `index + 1` components below the target's grant. */
function guestPrefix(target: GrantedPath, index: number): string {
  const below = target.rest.slice(0, index + 1).join('/');
  const base = target.guestPath.slice(0, target.guestPath.length - target.rest.join('/').length).replace(/\/$/, '');
  return base === '' || base === '.' ? below : `${base}/${below}`;
}

