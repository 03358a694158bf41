/**
 * What every attack class of the adversarial suite shares: one sandbox (JavaScript and Python) for the whole suite,
 * so the host process that survives the attacks is the one that ran them; a project directory with a secret
 * outside it; the attack bundles; the real CLI as a subprocess; and a health record (time, RSS, thread count, exit
 * codes) printed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { bundleTaskFile, envelopeSchema, Sandbox, type Envelope, type RunRequest, type TaskBundle } from '../../src/sandbox/index.js';
import { repoRoot } from '../helpers.js';

export const HOST_SECRET = 'HOST SECRET 7f3a9c';

export interface HealthRow {
  attacks: string;
  ms: number;
  rssMb: number;
  threads: number;
  exitCodes: number[];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class AdversarialContext {
  sandbox!: Sandbox;
  /** Temporary root: `project/` (the base directory), `outside/` (the host secret), `bundling/` layouts. */
  root!: string;
  base!: string;
  outside!: string;
  readonly envelopes: Envelope[] = [];
  readonly health: HealthRow[] = [];
  private readonly bundles = new Map<string, Promise<TaskBundle>>();
  private exitCodes: number[] = [];
  private classStarted = 0;

  async setUp(): Promise<void> {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'capsule-adversarial-'));
    this.base = path.join(this.root, 'project');
    this.outside = path.join(this.root, 'outside');
    for (const dir of ['data', 'out', 'work/ref']) mkdirSync(path.join(this.base, dir), { recursive: true });
    mkdirSync(this.outside);
    writeFileSync(path.join(this.outside, 'secret.txt'), HOST_SECRET);
    writeFileSync(path.join(this.outside, 'target.txt'), 'outside, unchanged');
    writeFileSync(path.join(this.base, 'data/input.txt'), 'input');
    this.sandbox = await Sandbox.create({ languages: ['js', 'python'] });
    this.health.push({ attacks: '(start)', ms: 0, rssMb: rssMb(), threads: this.sandbox.threadCount, exitCodes: [] });
  }

  async tearDown(): Promise<void> {
    await this.sandbox?.close();
    rmSync(this.root, { recursive: true, force: true });
  }

  bundle(file: string): Promise<TaskBundle> {
    let bundle = this.bundles.get(file);
    if (!bundle) this.bundles.set(file, (bundle = bundleTaskFile(path.join(repoRoot, 'test/adversarial/tasks', file))));
    return bundle;
  }

  /** Runs one attack task with the project as base directory; every envelope must be complete. */
  async run(file: string, task: string, args: unknown[] = [], extra: Partial<RunRequest> = {}): Promise<Envelope> {
    const envelope = await this.sandbox.run({ bundle: await this.bundle(file), task, args, baseDir: this.base, env: {}, ...extra });
    this.expectComplete(envelope);
    return envelope;
  }

  expectComplete(envelope: Envelope): void {
    expect(envelopeSchema.parse(envelope)).toEqual(envelope);
    if (envelope.success) expect(Object.hasOwn(envelope, 'result')).toBe(true);
    else expect(typeof envelope.error?.message).toBe('string');
    this.envelopes.push(envelope);
  }

  /** `capsule ...` as the operator runs it, from `cwd`. */
  cli(args: string[], cwd: string, timeoutMs = 60_000): Promise<CliResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin/capsule.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`capsule ${args.join(' ')} did not finish within ${timeoutMs} ms (a hang is a failure)`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        this.exitCodes.push(code ?? -1);
        resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
      });
    });
  }

  beginClass(): void {
    this.classStarted = performance.now();
    this.exitCodes = [];
  }

  /** After each class: the sandbox still runs tasks in both languages, and its threads are back to the pool. */
  async endClass(attacks: string): Promise<void> {
    const js = await this.run('attacks.ts', 'hello', ['js']);
    const py = await this.run('attacks.py', 'hello', ['py']);
    expect([js.result, py.result]).toEqual(['hello js', 'hello py']);
    await waitFor(() => this.sandbox.threadCount <= this.sandbox.poolSize, 20_000);
    this.health.push({ attacks, ms: Math.round(performance.now() - this.classStarted), rssMb: rssMb(), threads: this.sandbox.threadCount, exitCodes: this.exitCodes });
  }

  report(): string {
    const rows = this.health.map((h) => `${h.attacks.padEnd(34)} ${String(h.ms).padStart(7)} ms  rss ${String(h.rssMb).padStart(5)} MB  threads ${h.threads}  exit codes ${h.exitCodes.length === 0 ? '-' : h.exitCodes.join(',')}`);
    return ['adversarial suite: host health after each attack class', ...rows].join('\n');
  }
}

function rssMb(): number {
  return Math.round(process.memoryUsage().rss / (1024 * 1024));
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
