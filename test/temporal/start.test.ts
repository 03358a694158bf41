/**
 * `capsule start` and `capsule worker --workflows`: a workflow of the user's own (test/package/project) started from
 * the command line, on a `capsule worker` serving the configured server and on the embedded server with the worker
 * in the command; and its refusals (a type no worker has, bad --task specs, a missing workflows file), each with
 * nothing left running.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { capsule, cleanEnv, CLI, spawnCapsuleWorker, type WorkerProcess } from './processes.js';

const PROJECT = fileURLToPath(new URL('../package/project/', import.meta.url));
const HELLO = ['--task', 'hello=tasks/hello.ts'];

describe('on a configured server, with capsule worker --workflows', () => {
  const taskQueue = `start-${process.pid}`;
  let worker: WorkerProcess;
  beforeAll(async () => {
    worker = await spawnCapsuleWorker(inject('temporalAddress'), taskQueue, PROJECT, ['--workflows', 'workflows.ts']);
  }, 180_000);
  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
  });
  const env = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress'), CAPSULE_TASK_QUEUE: taskQueue });

  it('starts the workflow and prints the --json result with every step', async () => {
    const result = await capsule(['start', 'greetTwice', ...HELLO, '--input', '{"name":"Cy"}', '--json'], PROJECT, env());
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { status: string; output: unknown; steps: Array<{ id: string; envelope: { success: boolean } }> };
    expect(out).toMatchObject({ status: 'succeeded', output: { first: { greeting: 'Hello, Cy!' }, second: { greeting: 'Hello, again!' } } });
    expect(out.steps.map((s) => [s.id, s.envelope.success])).toEqual([['first', true], ['second', true]]);
  }, 120_000);

  it('shows live progress without --json', async () => {
    const result = await capsule(['start', 'greetTwice', ...HELLO], PROJECT, env());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^workflow greetTwice: greetTwice-/m);
    expect(result.stdout).toContain('succeeded');
  }, 120_000);

  it('refuses a type the worker does not have (exit 2) and terminates the run it started', async () => {
    const result = await capsule(['start', 'noSuchWorkflow', ...HELLO], PROJECT, env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^error: no workflow "noSuchWorkflow" in the workflows of the workers polling task queue "${taskQueue}" \\(Capsule's own: pipeline, reviewLoop, agentLoop, codingAgent\\); run noSuchWorkflow-\\S+ was terminated$`, 'm'));
  }, 120_000);
});

describe('on `capsule dev --workflows`', () => {
  it("starts the user's workflow on the dev server's worker, from another command", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-dev-'));
    cpSync(PROJECT, dir, { recursive: true });
    const dev = spawn(process.execPath, [CLI, 'dev', '--workflows', 'workflows.ts'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => dev.once('exit', resolve));
    let errors = '';
    dev.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        dev.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('worker on task queue')) resolve();
        });
        void exited.then(() => reject(new Error(`capsule dev exited early:\n${out}`)));
      });
      const result = await capsule(['start', 'greetTwice', ...HELLO, '--input', '{"name":"Dev"}', '--json'], dir);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', output: { first: { greeting: 'Hello, Dev!' } } });
    } finally {
      dev.kill('SIGINT');
      // What capsule dev said on its way out, if it did not end cleanly.
      expect(await exited, errors).toBe(0);
    }
  }, 180_000);
});

describe('on the embedded server, the worker in the command', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-start-'));
    cpSync(PROJECT, dir, { recursive: true });
  });

  it("runs the user's workflow with --workflows, then a type its file lacks is refused with nothing left running", async () => {
    const ok = await capsule(['start', 'greetTwice', '--workflows', 'workflows.ts', ...HELLO, '--json'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'succeeded' });
    const missing = await capsule(['start', 'greet', '--workflows', 'workflows.ts', ...HELLO], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error: no workflow "greet" in ${path.join(dir, 'workflows.ts')} (Capsule's own: pipeline, reviewLoop, agentLoop, codingAgent); run greet-`);
    expect(existsSync(path.join(dir, '.capsule', 'dev-server.json'))).toBe(false);
  }, 180_000);

  it('refuses bad --task specs and a missing workflows file before anything starts', async () => {
    const malformed = await capsule(['start', 'greetTwice', '--task', 'hello'], dir);
    expect([malformed.code, malformed.stderr.trim()]).toEqual([2, 'error: --task hello: expected KEY=PATH, such as draft=./tasks/draft.ts']);
    const twice = await capsule(['start', 'greetTwice', ...HELLO, ...HELLO], dir);
    expect([twice.code, twice.stderr.trim()]).toEqual([2, 'error: --task hello=tasks/hello.ts: task key "hello" is given twice']);
    const noFile = await capsule(['start', 'greetTwice', '--workflows', 'nope.ts', ...HELLO], dir);
    expect([noFile.code, noFile.stderr.trim()]).toEqual([2, `error: workflows file ${path.join(dir, 'nope.ts')}: no such file`]);
    const worker = await capsule(['worker', '--workflows', 'nope.ts'], dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect([worker.code, worker.stderr.trim()]).toEqual([2, `error: workflows file ${path.join(dir, 'nope.ts')}: no such file`]);
    expect(existsSync(path.join(dir, '.capsule', 'dev-server.json'))).toBe(false);
  }, 120_000);

  it('refuses workflow code that does not bundle, naming the file and webpack\'s reason, before a server starts', async () => {
    writeFileSync(path.join(dir, 'uses-fs.ts'), "import fs from 'node:fs';\nexport async function readIt() { return fs.readFileSync('x', 'utf8'); }\n");
    rmSync(path.join(dir, '.capsule'), { recursive: true, force: true });
    const result = await capsule(['start', 'readIt', '--workflows', 'uses-fs.ts', ...HELLO], dir);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: workflows file ${path.join(dir, 'uses-fs.ts')}: cannot bundle it as workflow code: ERROR in node:fs: Module build failed: UnhandledSchemeError: Reading from "node:fs" is not handled by plugins (Unhandled scheme).`);
    expect(existsSync(path.join(dir, '.capsule'))).toBe(false);
  }, 120_000);

  it('names an unreachable configured server and the variable that set it (exit 2)', async () => {
    const result = await capsule(['start', 'greetTwice', ...HELLO], dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: cannot reach the Temporal server at 127\.0\.0\.1:1 \(set by environment variable TEMPORAL_ADDRESS\): /m);
  }, 120_000);
});
