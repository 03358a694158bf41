/**
 * The host side of the guest's `fs` module (see guest/fs.ts): one synchronous operation per call, each path
 * checked by FilePolicy first. Host error messages never reach the guest verbatim, since they hold host paths.
 */
import * as fs from 'node:fs';
import type { Denial } from '../envelope.js';
import type { FsOp, FsReply } from '../guest/protocol.js';
import { type Access, FilePolicy } from '../policy/file-policy.js';

type Args = Record<string, unknown>;

class Refused extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const NODE_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

export class FsBridge {
  constructor(
    private readonly policy: FilePolicy,
    private readonly onDenial: (denial: Denial) => void,
  ) {}

  call(op: string, argsJson: string): string {
    let reply: FsReply;
    let args: Args = {};
    try {
      args = JSON.parse(argsJson) as Args;
      reply = { ok: this.dispatch(op as FsOp, args) };
    } catch (error) {
      reply = { error: this.toGuestError(error, op, args) };
    }
    return JSON.stringify(reply);
  }

  private path(args: Args, access: Access, key = 'path'): string {
    const raw = args[key];
    if (typeof raw !== 'string') throw new Refused('EINVAL', `${key} must be a string`);
    const decision = this.policy.resolve(raw, access);
    if (!decision.ok) {
      this.onDenial({ capability: 'file', target: raw, reason: decision.reason });
      throw new Refused('EACCES', `permission denied, '${raw}': ${decision.reason}`);
    }
    return decision.hostPath;
  }

  private dispatch(op: FsOp, args: Args): unknown {
    switch (op) {
      case 'readFile':
        return fs.readFileSync(this.path(args, 'read')).toString(args.encoding === 'utf8' ? 'utf8' : 'base64');
      case 'writeFile':
        fs.writeFileSync(this.path(args, 'write'), dataOf(args));
        return null;
      case 'appendFile':
        fs.appendFileSync(this.path(args, 'write'), dataOf(args));
        return null;
      case 'readdir':
        return fs.readdirSync(this.path(args, 'read'), { withFileTypes: true }).map((entry) => ({
          name: entry.name,
          type: entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : entry.isSymbolicLink() ? 'symlink' : 'other',
        }));
      case 'stat':
        return statReply(fs.statSync(this.path(args, 'read')));
      case 'lstat':
        return statReply(fs.lstatSync(this.path(args, 'read')));
      case 'exists':
        return fs.existsSync(this.path(args, 'read'));
      case 'mkdir':
        return fs.mkdirSync(this.path(args, 'write'), { recursive: args.recursive === true }) ?? null;
      case 'rm':
        this.refuseGrantRoot(args);
        fs.rmSync(this.path(args, 'write'), { recursive: args.recursive === true, force: args.force === true });
        return null;
      case 'rmdir':
        this.refuseGrantRoot(args);
        fs.rmdirSync(this.path(args, 'write'));
        return null;
      case 'unlink':
        fs.unlinkSync(this.path(args, 'write'));
        return null;
      case 'rename':
        fs.renameSync(this.path(args, 'write', 'from'), this.path(args, 'write', 'to'));
        return null;
      default:
        throw new Refused('ENOSYS', `fs operation "${String(op)}" is not available in the sandbox`);
    }
  }

  /** Removing a granted directory itself would let the next run's grant point at something else. */
  private refuseGrantRoot(args: Args): void {
    const raw = typeof args.path === 'string' ? args.path : '';
    const decision = this.policy.resolve(raw, 'write');
    if (decision.ok && decision.guestPath === decision.grant.guestPath) {
      const reason = 'an allowed directory itself cannot be removed';
      this.onDenial({ capability: 'file', target: raw, reason });
      throw new Refused('EACCES', `permission denied, '${raw}': ${reason}`);
    }
  }

  private toGuestError(error: unknown, op: string, args: Args): { code: string; message: string } {
    if (error instanceof Refused) return { code: error.code, message: error.message };
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const target = [args.path, args.from, args.to].filter((p) => typeof p === 'string').map((p) => `'${String(p)}'`).join(' -> ');
    return { code, message: `${code}: ${NODE_MESSAGES[code] ?? 'i/o error'}, ${op} ${target}` };
  }
}

function dataOf(args: Args): Buffer {
  if (typeof args.data !== 'string') throw new Refused('EINVAL', 'data must be a string or bytes');
  return Buffer.from(args.data, args.encoding === 'base64' ? 'base64' : 'utf8');
}

function statReply(s: fs.Stats) {
  return {
    size: s.size,
    mode: s.mode,
    mtimeMs: s.mtimeMs,
    atimeMs: s.atimeMs,
    ctimeMs: s.ctimeMs,
    birthtimeMs: s.birthtimeMs,
    type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other',
  };
}
