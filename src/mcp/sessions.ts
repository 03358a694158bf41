/**
 * Sessions: a scratch directory per session id, `.capsule/sessions/<id>/` in the server's directory, that persists
 * between calls naming the id, and nothing else: every call still runs in a fresh sandbox, so memory, globals and
 * imports never carry over — only files. Code sees the directory read-write at `workspace/` (a mount, as
 * `capsule exec --mount` makes one).
 *
 * A session holds at most the server's quota (bytes and entries), enforced at every write by the sandbox threads
 * and by the session tools alike (sandbox/directory-quota.ts): a guest cannot go past it even within one call, with
 * sub-tasks writing in parallel, because each write reserves its room first in counters they all share. Calls of
 * one session run one at a time (the quota is measured when each starts); calls of different sessions run in
 * parallel. Ids are letters, digits, "_" and "-" only, so an id is always one directory name below sessions/.
 */
import { lstatSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CAPSULE_DIR } from '../client/dev-state.js';
import { checkGrantedDirectory } from '../config/task-options.js';
import { DirectoryQuota, HostDirectory } from '../sandbox/index.js';
import { ToolError } from './errors.js';

export const CAPSULE_STATE_DIR = CAPSULE_DIR;
export const SESSIONS_DIR = `${CAPSULE_DIR}/sessions`;
/** Where code sees its session's directory. */
export const WORKSPACE_GUEST_PATH = 'workspace';

export const sessionIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a session id of 1 to 64 letters, digits, "_" or "-"')
  .describe('A session id of your choosing (letters, digits, "_", "-"). Calls with the same id share the files in ./workspace/; nothing else carries over between calls.');

export interface SessionLimits {
  quotaBytes: number;
  maxEntries: number;
  maxSessions: number;
}

export interface OpenSession {
  id: string;
  /** Relative to the server's directory. */
  hostPath: string;
  /** The mount that shows it to code at `workspace/`. */
  mount: string;
  quota: DirectoryQuota;
  /** The host's own access to it, through the same enforcement as the guest's (close it). */
  open(maxReadBytes: number): HostDirectory;
}

export class SessionStore {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly directory: string,
    private readonly limits: SessionLimits,
  ) {}

  /**
   * Runs `action` with the session to itself, once the calls of that session before it are done. `create`: make
   * the session if it does not exist yet (else `action` gets undefined).
   */
  async use<T>(id: string, create: boolean, action: (session: OpenSession | undefined) => Promise<T> | T): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    let done!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.queues.set(id, mine);
    await previous;
    try {
      return await action(this.prepare(id, create));
    } finally {
      done();
      if (this.queues.get(id) === mine) this.queues.delete(id);
    }
  }

  /** Removes every file of the session and the session itself (its id is free again). */
  reset(id: string): Promise<boolean> {
    return this.use(id, false, (session) => {
      if (session === undefined) return false;
      const access = session.open(0);
      try {
        access.clear();
      } finally {
        access.close();
      }
      rmdirSync(path.join(this.directory, session.hostPath));
      return true;
    });
  }

  private prepare(id: string, create: boolean): OpenSession | undefined {
    const hostPath = `${SESSIONS_DIR}/${id}`;
    const absolute = path.join(this.directory, hostPath);
    if (!isDirectory(absolute)) {
      if (!create) return undefined;
      this.makeRoom();
      mkdirSync(absolute);
    }
    // Reached without a link on the way, as every grant must be (the sandbox would refuse it later anyway).
    const checked = checkGrantedDirectory(hostPath, this.directory);
    if (!checked.ok) throw new ToolError('internal_error', `session "${id}" cannot be used: ${checked.problem}`);
    const quota = DirectoryQuota.measure(absolute, { maxBytes: this.limits.quotaBytes, maxEntries: this.limits.maxEntries, label: `session "${id}"` });
    return {
      id,
      hostPath,
      mount: `${hostPath}::${WORKSPACE_GUEST_PATH}:rw`,
      quota,
      open: (maxReadBytes) => HostDirectory.open(this.directory, hostPath, { mode: 'read-write', maxReadBytes, quota }),
    };
  }

  /** Makes .capsule/sessions (refusing links on the way) and checks there is room for one more session. */
  private makeRoom(): void {
    let walked = this.directory;
    for (const part of SESSIONS_DIR.split('/')) {
      walked = path.join(walked, part);
      try {
        mkdirSync(walked);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (!lstatSync(walked).isDirectory()) throw new ToolError('internal_error', `${path.relative(this.directory, walked)} is not a directory (a link or a file?): sessions cannot be kept`);
    }
    const count = readdirSync(walked).length;
    if (count >= this.limits.maxSessions) {
      throw new ToolError('permission_denied', `this server keeps at most ${this.limits.maxSessions} sessions and has ${count}: reset one you no longer need with session_reset`);
    }
  }
}

function isDirectory(file: string): boolean {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}
