/**
 * What the cluster test needs on the machine, installed with progress and cached:
 * - PostgreSQL from Debian's packages (apt-get, as root or through sudo) when no server is installed;
 * - the official Temporal server and its SQL tool, built with Go from go.temporal.io/server at the compose file's
 *   version: `go mod download` fetches the module (the Go module proxy), then `go build ./cmd/server
 *   ./cmd/tools/sql` inside the module's directory — unlike `go install pkg@version`, that also works for versions
 *   whose go.mod has `replace` directives. The binaries and the PostgreSQL schemas go to
 *   ~/.cache/capsule/temporal-server/<version>/ (several minutes the first time; instant after).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { capsuleCacheDir } from '../../src/config/paths.js';
import { postgresBinDir } from '../support/postgres.js';

export interface TemporalServerBuild {
  version: string;
  server: string;
  sqlTool: string;
  /** Directory holding `temporal-sql-tool` (put on PATH for the compose file's schema script). */
  binDir: string;
  /** schema/postgresql/v12 of the same version. */
  schemaDir: string;
}

export type Progress = (line: string) => void;

export async function ensurePostgres(progress: Progress): Promise<string> {
  try {
    return postgresBinDir();
  } catch {
    progress('PostgreSQL is not installed: installing Debian\'s postgresql package (apt-get)');
    const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
    await run([...sudo, 'apt-get', 'update', '-q'], progress, { cwd: process.cwd() });
    await run([...sudo, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', 'postgresql'], progress, { cwd: process.cwd(), env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return postgresBinDir();
  }
}

export async function ensureTemporalServer(version: string, progress: Progress): Promise<TemporalServerBuild> {
  const dir = path.join(capsuleCacheDir(), 'temporal-server', version);
  const build: TemporalServerBuild = {
    version,
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    binDir: path.join(dir, 'bin'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
  if ([build.server, build.sqlTool, build.schemaDir].every((file) => existsSync(file))) {
    progress(`Temporal server ${version}: cached in ${dir}`);
    return build;
  }
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) throw new Error('Go is not installed: the cluster test builds the Temporal server from source (install Go 1.25 or later, https://go.dev/doc/install)');
  progress(`Temporal server ${version}: not cached; building it from go.temporal.io/server@v${version} with ${go.stdout.trim()} (several minutes the first time)`);
  const started = Date.now();
  const download = await run(['go', 'mod', 'download', '-json', `go.temporal.io/server@v${version}`], progress, { cwd: process.cwd(), quiet: true });
  const moduleDir = (JSON.parse(download) as { Dir?: string; Error?: string }).Dir;
  if (moduleDir === undefined) throw new Error(`go mod download go.temporal.io/server@v${version} did not report a directory:\n${download}`);
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'bin'), { recursive: true });
  // Inside the module, its own go.mod (replace directives included) and go.sum decide every dependency.
  await run(['go', 'build', '-o', path.join(staging, 'bin', 'temporal-server'), './cmd/server'], progress, { cwd: moduleDir, env: { ...process.env, GOFLAGS: '-mod=readonly' } });
  await run(['go', 'build', '-o', path.join(staging, 'bin', 'temporal-sql-tool'), './cmd/tools/sql'], progress, { cwd: moduleDir, env: { ...process.env, GOFLAGS: '-mod=readonly' } });
  cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), path.join(staging, 'schema', 'postgresql', 'v12'), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  renameSync(staging, dir);
  progress(`Temporal server ${version}: built in ${Math.round((Date.now() - started) / 1000)} s, cached in ${dir}`);
  return build;
}

/**
 * Runs a command, showing its output lines as progress (Go prints "go: downloading …" per module) and a line every
 * 30 s while it is quiet; returns stdout. Fails with the command's last output.
 */
function run(command: string[], progress: Progress, options: { cwd: string; env?: NodeJS.ProcessEnv; quiet?: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let tail = '';
    const onLine = (chunk: Buffer, keep: boolean) => {
      const text = chunk.toString();
      if (keep) stdout += text;
      tail = (tail + text).slice(-4000);
      if (!keep || !options.quiet) for (const line of text.split('\n').filter(Boolean)) progress(`  ${line}`);
    };
    child.stdout.on('data', (c: Buffer) => onLine(c, true));
    child.stderr.on('data', (c: Buffer) => onLine(c, false));
    const ticker = setInterval(() => progress(`  … ${command.slice(0, 3).join(' ')} still running (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    child.once('error', (error) => {
      clearInterval(ticker);
      reject(new Error(`${command[0]}: ${error.message}`));
    });
    child.once('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command.join(' ')} exited with ${code}:\n${tail}`));
    });
  });
}
