/**
 * The original Capsule (native wasmtime, a precompiled .cwasm per task file), installed for a side-by-side run into a
 * temporary directory of its own — never into the repository:
 *   npm install --prefix <tmp> --no-save @capsule-run/cli-linux-x64@0.8.10   (the native binary)
 *   python3 -m venv <tmp>/venv && <tmp>/venv/bin/pip install capsule-run==0.8.10   (Python tasks: its SDK, componentize-py)
 * and for JavaScript task files its SDK, `@capsule-run/sdk`, which its `run` looks for in a node_modules above the
 * task file and whose esbuild and jco it runs with npx. When the registry does not have the SDK, the bench uses
 * CAPSULE_ORIGINAL_JS_SDK: a directory holding it built from the original's source (crates/capsule-sdk/javascript at
 * tag v0.8.10: `npm install && npm run build` there); without either, the JavaScript rows say why they are missing.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ORIGINAL_VERSION = '0.8.10';
export const ORIGINAL_CLI_PACKAGE = `@capsule-run/cli-linux-x64@${ORIGINAL_VERSION}`;
export const ORIGINAL_PYTHON_PACKAGE = `capsule-run==${ORIGINAL_VERSION}`;
export const ORIGINAL_JS_SDK_PACKAGE = `@capsule-run/sdk@${ORIGINAL_VERSION}`;

export interface OriginalCapsule {
  /** The native `capsule` executable. */
  bin: string;
  /** Its environment: the venv first on PATH (its `run` calls `python` and `componentize-py` from PATH). */
  env: NodeJS.ProcessEnv;
  /** A directory holding @capsule-run/sdk, built; undefined when there is none (then `jsSdkMissing` says why). */
  jsSdk: string | undefined;
  jsSdkMissing: string | undefined;
  close(): void;
}

/** The original's envelope, as its `run --json` prints it and its worker returns it. */
export interface OriginalEnvelope {
  success: boolean;
  result: unknown;
  error: { error_type?: string; message?: string } | null;
  execution: { fuel_consumed: number; duration_ms: number };
}

export async function installOriginal(log: (line: string) => void): Promise<OriginalCapsule> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-original-'));
  try {
    log(`installing ${ORIGINAL_CLI_PACKAGE} into ${dir}`);
    await run('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', ORIGINAL_CLI_PACKAGE]);
    const bin = path.join(dir, 'node_modules', '@capsule-run', 'cli-linux-x64', 'capsule');
    if (!existsSync(bin)) throw new Error(`${ORIGINAL_CLI_PACKAGE} installed no executable at ${bin}`);
    log(`installing ${ORIGINAL_PYTHON_PACKAGE} into ${dir}/venv`);
    const venv = path.join(dir, 'venv');
    await run(process.env.CAPSULE_PYTHON ?? 'python3', ['-m', 'venv', venv]);
    await run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', ORIGINAL_PYTHON_PACKAGE]);
    const env = { ...process.env, PATH: `${path.join(venv, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`, VIRTUAL_ENV: venv };
    const sdk = await findJsSdk(dir, log);
    return { bin, env, ...sdk, close: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The registry's SDK when it has one, else CAPSULE_ORIGINAL_JS_SDK, else the reason there is none. */
async function findJsSdk(dir: string, log: (line: string) => void): Promise<{ jsSdk: string | undefined; jsSdkMissing: string | undefined }> {
  const prefix = path.join(dir, 'js-sdk');
  try {
    await run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', ORIGINAL_JS_SDK_PACKAGE]);
    log(`installed ${ORIGINAL_JS_SDK_PACKAGE} from the registry`);
    return { jsSdk: path.join(prefix, 'node_modules', '@capsule-run', 'sdk'), jsSdkMissing: undefined };
  } catch (error) {
    const notPublished = /E404|404 Not Found/.test(String((error as { stderr?: unknown }).stderr ?? error));
    const why = notPublished ? `${ORIGINAL_JS_SDK_PACKAGE} is not on the npm registry reachable here (404)` : `npm install ${ORIGINAL_JS_SDK_PACKAGE} failed`;
    const given = process.env.CAPSULE_ORIGINAL_JS_SDK;
    if (given === undefined || given === '') {
      return { jsSdk: undefined, jsSdkMissing: `${why}, and CAPSULE_ORIGINAL_JS_SDK is not set: the original's \`run\` of a JavaScript task file fails with "Could not find JavaScript SDK."` };
    }
    const sdk = path.resolve(given);
    if (!existsSync(path.join(sdk, 'dist', 'app.js')) || !existsSync(path.join(sdk, 'node_modules', '.bin', 'jco'))) {
      throw new Error(`CAPSULE_ORIGINAL_JS_SDK=${given}: expected a built @capsule-run/sdk there (dist/app.js and node_modules/.bin/jco; run \`npm install && npm run build\` in it)`);
    }
    log(`${why}; using the SDK built from the original's source at ${sdk} (CAPSULE_ORIGINAL_JS_SDK)`);
    return { jsSdk: sdk, jsSdkMissing: undefined };
  }
}

/** Links the SDK where the original's `run` looks for it: node_modules/@capsule-run/sdk above the task file. */
export function linkJsSdk(taskDir: string, sdk: string): void {
  const scope = path.join(taskDir, 'node_modules', '@capsule-run');
  mkdirSync(scope, { recursive: true });
  symlinkSync(sdk, path.join(scope, 'sdk'), 'dir');
}

/**
 * The original's `worker` mode: one long-lived process reading JSON lines `{"id","file","args"}` on stdin and writing
 * `{"id","output"}` or `{"id","error"}` lines on stdout; it caches the path of each file's built artifact after the
 * first call (and, from the second call on, runs it without the task's declared limits: it no longer has them).
 */
export class OriginalWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<string, { resolve: (value: OriginalEnvelope) => void; reject: (error: Error) => void }>();
  private next = 0;

  constructor(original: OriginalCapsule, cwd: string) {
    this.child = spawn(original.bin, ['worker'], { cwd, env: original.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.resume();
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as { id: string; output?: OriginalEnvelope; error?: string };
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.output !== undefined) waiter.resolve(reply.output);
      else waiter.reject(new Error(`the original's worker: ${reply.error ?? line}`));
    });
    this.child.once('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the original's worker exited (${code})`));
      this.pending.clear();
    });
  }

  call(file: string, args: string[] = []): Promise<OriginalEnvelope> {
    const id = String(this.next++);
    return new Promise<OriginalEnvelope>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, file, args })}\n`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill(), 2_000).unref();
    });
  }
}
