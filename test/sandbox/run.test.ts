import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { expectHelloEnvelope, fixtureBundle, repoRoot } from '../helpers.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create();
});
afterAll(() => sandbox.close());

const run = async (file: string, task: string, args: unknown[] = []) =>
  sandbox.run({ bundle: await fixtureBundle(file), task, args, baseDir: repoRoot });

describe('running a task', () => {
  it('returns the result, the captured output and the figures in a valid envelope', async () => {
    const envelope = await run('hello.ts', 'main', ['Ada', { n: 1 }]);
    expectHelloEnvelope(envelope);
  });

  it('finds a task by its name or its export name', async () => {
    expect((await run('hello.ts', 'other-task')).result).toBe('from other');
    expect((await run('hello.ts', 'other')).result).toBe('from other');
  });

  it('reports an unknown task as invalid_task, listing the tasks there are', async () => {
    const envelope = await run('hello.ts', 'missing');
    expect(envelope.error).toEqual({ error_type: 'invalid_task', message: expect.stringContaining('no task named "missing" (tasks: main, other-task)') });
  });

  it('turns a thrown Error into task_error carrying its message', async () => {
    const envelope = await run('limits.ts', 'fail');
    expect(envelope.success).toBe(false);
    expect(envelope.error).toEqual({ error_type: 'task_error', message: 'Error: boom: the task gave up' });
    // The uncaught error and its stack end stderr, as Node prints them.
    expect(envelope.execution.stderr).toMatch(/^Error: boom: the task gave up\n {4}at fail \(task bundle:\d+:\d+\)\n$/);
  });

  it('turns a thrown string into task_error too', async () => {
    expect((await run('limits.ts', 'fail-string')).error).toEqual({ error_type: 'task_error', message: 'a bare string' });
  });

  it('refuses a result that is not JSON-serialisable', async () => {
    const envelope = await run('limits.ts', 'not-json');
    expect(envelope.error?.error_type).toBe('task_error');
    expect(envelope.error?.message).toContain('not JSON-serialisable');
  });

  it('caps captured output and says so', async () => {
    const envelope = await run('limits.ts', 'chatty', [1500]);
    expect(envelope.success).toBe(true);
    expect(envelope.execution.truncated).toBe(true);
    expect(envelope.execution.stdout.length).toBe(1024 * 1024);
  });

  it('runs 20 tasks at once to completion through the bounded pool', async () => {
    const bundle = await fixtureBundle('hello.ts');
    const envelopes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sandbox.run({ bundle, args: [`run ${i}`], baseDir: repoRoot })),
    );
    expect(envelopes.map((e) => e.success)).toEqual(Array(20).fill(true));
    expect(envelopes.map((e) => (e.result as { greeting: string }).greeting)).toEqual(Array.from({ length: 20 }, (_, i) => `hello run ${i}`));
  });
});

describe('bundling', () => {
  it('inlines relative imports and npm packages, and resolves "@capsule-run/sdk" like "capsule"', async () => {
    const envelope = await run('imports.ts', 'main', ['greeting: hello']);
    expect(envelope.result).toBe('HELLO!');
  });

  it('gives the same bundle, and the same sha256, for the same file', async () => {
    const { bundleTaskFile } = await import('../../src/sandbox/index.js');
    const [a, b] = [await bundleTaskFile('test/fixtures/tasks/hello.ts'), await bundleTaskFile(`${repoRoot}/test/fixtures/tasks/hello.ts`)];
    expect(a.sha256).toBe(b.sha256);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
