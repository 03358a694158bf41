/**
 * context() in both languages: a run gets the context its caller gives (a pipeline step's workflow, step, attempt and
 * idempotency key), sub-tasks see their caller's, and a run outside any pipeline gets null ids and a fresh key.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, type TaskContext } from '../../src/sandbox/index.js';
import { fixture, fixtureBundle, repoRoot } from '../helpers.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create({ languages: ['js', 'python'], poolSize: 1 });
});
afterAll(() => sandbox.close());

const step: TaskContext = { workflowId: 'research-1a2b', runId: 'run-3c4d', stepId: 'fetch[2]', attempt: 3, idempotencyKey: '0123456789abcdef0123456789abcdef' };
const run = async (file: string, task: string, context?: TaskContext) =>
  sandbox.run({ bundle: await fixtureBundle(file), task, baseDir: repoRoot, ...(context === undefined ? {} : { context }) });

describe('context()', () => {
  it('gives a JavaScript task the context of its run', async () => {
    expect((await run('context.ts', 'main', step)).result).toEqual(step);
  });

  it('gives a sub-task its caller\'s context', async () => {
    expect((await run('context.ts', 'parent', step)).result).toEqual({ own: step, child: step });
  });

  it('outside a pipeline: null ids, attempt 1, and a fresh 32-hex key for every run', async () => {
    const first = (await run('context.ts', 'main')).result as TaskContext;
    const second = (await run('context.ts', 'main')).result as TaskContext;
    expect(first).toEqual({ workflowId: null, runId: null, stepId: null, attempt: 1, idempotencyKey: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
  });

  it('does not change the fuel of a task that never asks for it (the guest reads it from the host on demand)', async () => {
    const other: TaskContext = { ...step, workflowId: 'x', stepId: 'another-step', attempt: 7, idempotencyKey: 'ffffffffffffffffffffffffffffffff' };
    const fuel = async (context?: TaskContext) => (await sandbox.run({ bundle: await fixtureBundle('context.ts'), task: 'ignores', args: ['abcdef'], baseDir: repoRoot, ...(context === undefined ? {} : { context }) })).execution.fuel_consumed;
    const runs = [await fuel(step), await fuel(other), await fuel(), await fuel()];
    expect(new Set(runs).size).toBe(1);
  });

  it('is not available while Capsule reads the task options (top-level code)', async () => {
    await expect(sandbox.describe(await fixtureBundle('context-top-level.ts'), { baseDir: repoRoot })).rejects.toThrow(
      /context-top-level\.ts: cannot load the task file: .*context\(\) is only available while a task runs/,
    );
  });

  it('gives a Python task the same context, spelled the Python way', async () => {
    expect((await run('python/context_task.py', 'main', step)).result).toEqual({
      workflow_id: 'research-1a2b', run_id: 'run-3c4d', step_id: 'fetch[2]', attempt: 3, idempotency_key: '0123456789abcdef0123456789abcdef',
    });
    expect((await run('python/context_task.py', 'main')).result).toEqual({
      workflow_id: null, run_id: null, step_id: null, attempt: 1, idempotency_key: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('run natively (plain CPython), Python tasks get null ids and one key for the process', async () => {
    const script = 'import context_task as t; a = t.main(); b = t.main(); import json; print(json.dumps([a, b]))';
    const { stdout } = await promisify(execFile)('python3', ['-c', script], {
      env: { ...process.env, PYTHONPATH: [path.join(repoRoot, 'src/sdk/python'), path.dirname(fixture('python/context_task.py'))].join(path.delimiter) },
    });
    const [a, b] = JSON.parse(stdout) as Record<string, unknown>[];
    expect(a).toEqual({ workflow_id: null, run_id: null, step_id: null, attempt: 1, idempotency_key: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(b).toEqual(a);
  });
});
