/**
 * The host side of the guest's file calls (guest/fs.ts for JavaScript, guest-python/capsule_files.py for Python):
 * one synchronous operation per call. The arguments are the guest's, so they are checked (fs-args.ts); each path is
 * decided by FilePolicy and then enforced at use by GrantedFs. Replies and errors never carry a host path.
 */
import type { Denial } from '../envelope.js';
import type { FsOp, FsReply } from '../guest/protocol.js';
import { type Access, FilePolicy, type GrantedPath } from '../policy/file-policy.js';
import { type FsArgs, isFsOp, readFsArgs } from './fs-args.js';
import { FsFailure, Refused } from './grant-roots.js';
import type { GrantedFs } from './granted-fs.js';
import { QuotaExceeded } from './quota-ledger.js';

type Args<Op extends FsOp> = FsArgs<Op>;

const NODE_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EXDEV: 'cross-device link not permitted',
  ENOSPC: 'no space left on device',
  EINVAL: 'invalid argument',
};

/** A refusal on the guest's side of the call, before anything is decided: bad arguments. */
class BadCall extends FsFailure {}

export class FsBridge {
  constructor(
    private readonly policy: FilePolicy,
    private readonly files: GrantedFs,
    private readonly onDenial: (denial: Denial) => void,
  ) {}

  call(op: string, argsJson: string): string {
    let reply: FsReply;
    let shown = '';
    try {
      if (!isFsOp(op)) throw new BadCall('ENOSYS', `fs operation "${op.slice(0, 64)}" is not available in the sandbox`);
      const parsed = readFsArgs(op, parseJson(argsJson));
      if (!parsed.ok) throw new BadCall('EINVAL', `fs.${op}: ${parsed.field || 'arguments'}: ${parsed.message}`);
      const args = parsed.args as Record<string, unknown>;
      shown = [args.path, args.from, args.to].filter((p): p is string => typeof p === 'string').map((p) => `'${p}'`).join(' -> ');
      reply = { ok: this.dispatch(op, parsed.args) };
    } catch (error) {
      reply = { error: toGuestError(error, op, shown) };
    }
    return JSON.stringify(reply);
  }

  /** Decides the path; a refusal is recorded as a denial and thrown as the guest's EACCES. */
  private target(raw: string, access: Access): GrantedPath {
    const decision = this.policy.resolve(raw, access);
    if (!decision.ok) throw this.denied(raw, decision.reason);
    return decision;
  }

  private denied(raw: string, reason: string): FsFailure {
    this.onDenial({ capability: 'file', target: raw, reason });
    return new FsFailure('EACCES', `permission denied, '${raw}': ${reason}`);
  }

  private dispatch(op: FsOp, args: Args<FsOp>): unknown {
    const raw = 'path' in args ? args.path : args.from;
    try {
      return this.perform(op, args);
    } catch (error) {
      if (error instanceof Refused) throw this.denied(raw, error.message);
      // Not a refusal of access (the guest gets ENOSPC, as from a full disk), but listed with the denials so the
      // envelope shows it even when the guest catches the error.
      if (error instanceof QuotaExceeded) this.onDenial({ capability: 'file', target: raw, reason: error.message });
      throw error;
    }
  }

  private perform(op: FsOp, args: Args<FsOp>): unknown {
    const files = this.files;
    switch (op) {
      case 'readFile': {
        const a = args as Args<'readFile'>;
        return files.readFile(this.target(a.path, 'read')).toString(a.encoding === 'utf8' ? 'utf8' : 'base64');
      }
      case 'writeFile':
      case 'appendFile': {
        const a = args as Args<'writeFile'>;
        files.writeFile(this.target(a.path, 'write'), Buffer.from(a.data, a.encoding === 'base64' ? 'base64' : 'utf8'), op === 'appendFile');
        return null;
      }
      case 'readdir':
        return files.readdir(this.target((args as Args<'readdir'>).path, 'read'));
      case 'stat':
      case 'lstat':
        return statReply(files.stat(this.target((args as Args<'stat'>).path, 'read'), op === 'stat'));
      case 'exists':
        try {
          files.stat(this.target((args as Args<'exists'>).path, 'read'), true);
          return true;
        } catch (error) {
          if (error instanceof Refused || (error as { code?: string }).code === 'EACCES') throw error;
          return false;
        }
      case 'mkdir': {
        const a = args as Args<'mkdir'>;
        return files.mkdir(this.target(a.path, 'write'), a.recursive === true);
      }
      case 'rm': {
        const a = args as Args<'rm'>;
        files.rm(this.target(a.path, 'write'), a.recursive === true, a.force === true);
        return null;
      }
      case 'rmdir':
        files.rmdir(this.target((args as Args<'rmdir'>).path, 'write'));
        return null;
      case 'unlink':
        files.unlink(this.target((args as Args<'unlink'>).path, 'write'));
        return null;
      case 'rename': {
        const a = args as Args<'rename'>;
        files.rename(this.target(a.from, 'write'), this.target(a.to, 'write'));
        return null;
      }
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadCall('EINVAL', 'fs call arguments are not JSON');
  }
}

/** Host error messages hold host paths: the guest gets the code, a fixed text and its own path only. */
function toGuestError(error: unknown, op: string, shown: string): { code: string; message: string } {
  if (error instanceof FsFailure) {
    if (error.code === 'EACCES' || error instanceof BadCall) return { code: error.code, message: error.message };
    return { code: error.code, message: `${error.code}: ${error.message}, ${op} ${shown}` };
  }
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const known = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : 'EIO';
  return { code: known, message: `${known}: ${NODE_MESSAGES[known] ?? 'i/o error'}, ${op} ${shown}` };
}

function statReply(s: import('node:fs').BigIntStats) {
  return {
    size: Number(s.size),
    mode: Number(s.mode),
    mtimeMs: Number(s.mtimeNs) / 1e6,
    atimeMs: Number(s.atimeNs) / 1e6,
    ctimeMs: Number(s.ctimeNs) / 1e6,
    birthtimeMs: Number(s.birthtimeNs) / 1e6,
    type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other',
  };
}
