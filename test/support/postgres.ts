/**
 * A real PostgreSQL for tests: initdb into a temp directory and a postgres process on a free 127.0.0.1 port, torn
 * down by stop(). Debian's server binaries (/usr/lib/postgresql/<version>/bin; CI installs the `postgresql`
 * package). PostgreSQL refuses to run as root, so as root the data directory and the server belong to the
 * `postgres` system user. Shared by every test that needs a database (the blob store, the cluster test).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pickPort, withLifeline } from '../../src/client/dev-server.js';

export interface PostgresServer {
  /** postgres://capsule@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** The superuser (trust authentication). */
  user: string;
  pid: number;
  stop(): Promise<void>;
}

const USER = 'capsule';
const READY_TIMEOUT_MS = 30_000;

/** The newest installed server's bin directory, or CAPSULE_POSTGRES_BIN. */
export function postgresBinDir(): string {
  const explicit = process.env.CAPSULE_POSTGRES_BIN;
  if (explicit) return explicit;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${root}: install Debian's package (apt-get install postgresql) or set CAPSULE_POSTGRES_BIN`);
  return path.join(root, versions[0]!, 'bin');
}

/** The uid/gid to run the server as: ourselves, or the `postgres` system user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (it refuses root): install Debian\'s postgresql package');
  return { uid, gid };
}

export interface PostgresOptions {
  /** Extra server settings, "name=value" (e.g. "max_connections=300"). */
  settings?: string[];
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-pg-'));
  const data = path.join(dir, 'data');
  if (user !== undefined) {
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  const as = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...as, encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await pickPort();
  // fsync off and a socket directory of its own: a throwaway server that starts in about a second. It shuts down
  // fast (SIGINT) when this process dies, however it dies.
  const [command, args] = withLifeline(path.join(bin, 'postgres'), ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-F', '-c', 'full_page_writes=off', ...(options.settings ?? []).flatMap((s) => ['-c', s])], 'SIGINT');
  const child: ChildProcess = spawn(command, args, {
    ...as,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, user: USER, pid: child.pid ?? -1, stop };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections at ${url} within ${READY_TIMEOUT_MS / 1000} s: ${String(error)}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
