/**
 * The roots of a run's grants, for host/granted-fs.ts: each grant's directory opened once per run by walking its
 * host path from the (trusted) base directory without following any link, its identity (device and inode), and its
 * mode after the overlap rule. Also the helpers and refusals both modules share.
 */
import * as fs from 'node:fs';
import type { FileMode } from '../../config/task-options.js';
import { type FileGrant, narrower, shown } from '../policy/file-policy.js';
import type { FdLedger } from './fd-ledger.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
export const DIRECTORY_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK;

export const LINK_REASON = 'the path goes through a symbolic link (the sandbox never follows links)';
export const SPECIAL_REASON = 'not a regular file or directory (FIFOs, sockets and devices are not available in the sandbox)';
export const HARD_LINK_REASON = 'the file has several hard links, so it may be a file outside the allowed directory';
export const ROOT_REASON = 'an allowed directory itself cannot be removed or renamed';
export const HOLDS_ROOT_REASON = 'the directory holds an allowed directory, which cannot be removed or renamed';

/** A refusal by the sandbox: the guest gets EACCES and the envelope a denial. */
export class Refused extends Error {}

/** An ordinary file-system error, with an errno code and a message that names no host path. */
export class FsFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface Root {
  fd: number | null;
  /** Why the grant cannot be used this run (its root vanished, or became a link). */
  unavailable: string;
  id: string;
  mode: FileMode;
  modeFrom: string;
  /** The grant's excluded directories (relative to its root), left out of its listings. */
  excluded: readonly string[];
}

export type Stats = fs.BigIntStats;

export const at = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);
export const identity = (s: Stats) => `${s.dev}:${s.ino}`;
export const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code;
const PROC_FD_AVAILABLE = process.platform === 'linux' && fs.existsSync('/proc/self/fd');

/**
 * Opens every grant's root and applies the overlap rule on the host: the narrower mode wins for the deeper path, so a
 * root inside (or equal to) another grant's root takes the narrower of the two modes, whatever guest names they have.
 */
export function openRoots(grants: readonly FileGrant[], ledger: FdLedger): Root[] {
  const roots = grants.map((grant) => openRoot(grant, ledger));
  const places = roots.map((root) => (root.fd === null ? null : fs.readlinkSync(at(root.fd))));
  for (const [i, root] of roots.entries()) {
    for (const [j, other] of roots.entries()) {
      const inside = places[i] !== null && places[j] !== null && (places[i] === places[j] || places[i]!.startsWith(`${places[j]}/`))
        // A grant does not cover what it excludes: a root there keeps its own mode.
        && !(grants[j]!.excluded ?? []).some((excluded) => isBelow(places[i]!, `${places[j]}/${excluded}`));
      if (i !== j && inside && narrower(root.mode, other.mode) !== root.mode) {
        root.mode = other.mode;
        root.modeFrom = other.modeFrom;
      }
    }
  }
  return roots;
}

function isBelow(place: string, dir: string): boolean {
  return place === dir || place.startsWith(`${dir}/`);
}

function openRoot(grant: FileGrant, ledger: FdLedger): Root {
  const root: Root = { fd: null, unavailable: '', id: '', mode: grant.mode, modeFrom: grant.guestPath, excluded: grant.excluded ?? [] };
  if (!PROC_FD_AVAILABLE) {
    root.unavailable = 'file grants need Linux (/proc/self/fd); this host cannot enforce them, so none is given';
    return root;
  }
  let fd: number;
  try {
    // The base directory is the operator's: links in it are trusted. Below it, none is followed.
    fd = ledger.track(fs.openSync(grant.base, O_RDONLY | O_DIRECTORY | O_NONBLOCK));
  } catch {
    root.unavailable = `${shown(grant.guestPath)} is not available on the host`;
    return root;
  }
  for (const name of grant.hostPath === '.' ? [] : grant.hostPath.split('/')) {
    let next: number;
    try {
      next = ledger.track(fs.openSync(at(fd, name), DIRECTORY_FLAGS));
    } catch (error) {
      const link = isLink(error, fd, name);
      ledger.close(fd);
      root.unavailable = link
        ? `${shown(grant.guestPath)} is (or goes through) a symbolic link on the host, which the sandbox does not follow`
        : `${shown(grant.guestPath)} no longer exists on the host`;
      return root;
    }
    ledger.close(fd);
    fd = next;
  }
  root.fd = fd;
  root.id = identity(fs.fstatSync(fd, { bigint: true }));
  return root;
}

/** An open that failed because the name is a symbolic link (O_NOFOLLOW gives ELOOP, or ENOTDIR with O_DIRECTORY). */
export function isLink(error: unknown, dirFd: number, name: string): boolean {
  const code = codeOf(error);
  if (code === 'ELOOP') return true;
  if (code !== 'ENOTDIR') return false;
  try {
    return fs.lstatSync(at(dirFd, name)).isSymbolicLink();
  } catch {
    return false;
  }
}

