/**
 * Where the resident exec server listens, and which server a command may talk to. A server answers only for the
 * exact Capsule it was started from: the socket's name is a hash of the package's location and version, Node, the
 * cache directory and a stamp of the running code (`stampCode`), so an upgrade or an edit in a checkout is served by
 * a new server and the old one ends when idle.
 *
 * A caller sends its environment (secret values among it) to the server, so the socket must be the user's own: it
 * lives in a directory only the user can enter ($XDG_RUNTIME_DIR/capsule, else the cache directory's exec-server/,
 * mode 0700, owned by the user, not a link), checked by the server before it listens and by every client before it
 * connects.
 */
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { capsuleCacheDir } from '../../config/paths.js';
import { CODE_DIR, CODE_EXTENSION, PACKAGE_ROOT } from '../../package-paths.js';
import { stampTree } from '../../source-stamp.js';

/** The longest path a Unix socket address may have on Linux (108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

export interface ServerAddress {
  dir: string;
  socket: string;
  /** The server's log: where it listens, one line per run (what ran, where, how it ended), why it stopped. */
  log: string;
}

/** The address of the server for this Capsule, or undefined where no socket can be (a path too long). */
export function serverAddress(env: Record<string, string | undefined>): ServerAddress | undefined {
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const dir = runtimeDir ? path.join(path.resolve(runtimeDir), 'capsule') : path.join(capsuleCacheDir(), 'exec-server');
  const name = `exec-${serverIdentity(env)}`;
  const socket = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) return undefined;
  return { dir, socket, log: path.join(dir, `${name}.log`) };
}

/** Whether `dir` is a directory only this user can enter (a client talks to no other server). */
export function isPrivateDirectory(dir: string): boolean {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && (stat.mode & 0o077) === 0 && (process.getuid === undefined || stat.uid === process.getuid());
  } catch {
    return false;
  }
}

/**
 * Creates the server's directory (mode 0700) if missing. One of the user's own that others could enter is made
 * private and emptied: a socket someone else placed there while it was open would otherwise stay reachable. False if
 * the directory is not the user's (a link, another owner): no server goes there.
 */
export function makePrivateDirectory(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isPrivateDirectory(dir)) return true;
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (process.getuid !== undefined && stat.uid !== process.getuid())) return false;
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  return isPrivateDirectory(dir);
}

function serverIdentity(env: Record<string, string | undefined>): string {
  const hash = createHash('sha256');
  const version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version;
  hash.update(`${PACKAGE_ROOT}\n${version}\n${process.execPath}\n${process.version}\n${capsuleCacheDir()}\n${env.CAPSULE_PYTHON ?? ''}\n`);
  stampCode(hash);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The running code. A checkout (src/) is edited in place, so every module and the sources the sandbox runtimes are
 * built from (a server loads them once) are stamped: ~250 stat calls, 10-15 ms of every call. An installed package
 * (dist/) changes only when npm writes it, and npm writes its package.json each time: that file's inode and change
 * time stand for the whole package. (Installed files edited by hand while a server runs are served once that server
 * ends: idle, or stopped.)
 */
function stampCode(hash: Hash): void {
  if (CODE_EXTENSION === '.ts') return stampTree(hash, CODE_DIR, [CODE_EXTENSION, '.py', '.wit']);
  const stat = statSync(path.join(PACKAGE_ROOT, 'package.json'));
  hash.update(`package.json ${stat.ino} ${stat.ctimeMs} ${stat.size}\n`);
}
