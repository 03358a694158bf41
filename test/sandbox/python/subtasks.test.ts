import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/sandbox/index.js';
import { usePythonSandbox } from './python.js';

const py = usePythonSandbox();

const run = async (mode: string) => {
  const envelope = await py.run('subtasks.py', 'main', [mode]);
  expect(envelope.error).toBeNull();
  return { result: envelope.result, parent: envelope };
};

describe('Python sub-tasks', () => {
  it('runs a called @task in its own sandbox with its own limits and returns its envelope', async () => {
    const { result, parent } = await run('one');
    const child = result as Envelope;
    expect(child.success).toBe(true);
    expect(child.error).toBeNull();
    expect(child.result).toEqual({ n: 1000, total: 499500 });
    expect(child.execution).toMatchObject({ task_name: 'child', retries: 0, fuel_limit: 100_000_000, ram_limit: 48 * 1024 * 1024 });
    expect(child.execution.fuel_consumed).toBeGreaterThan(0);
    expect(parent.execution.task_name).toBe('main');
    expect(parent.execution.fuel_limit).toBe(50_000_000_000);
    expect(parent.execution.denials).toEqual([]);
  });

  it('applies the child\'s own fuel budget: the child runs out while the parent succeeds', async () => {
    const { result } = await run('limits');
    const { parent_alive, child } = result as { parent_alive: boolean; child: Envelope };
    expect(parent_alive).toBe(true);
    expect(child.success).toBe(false);
    expect(child.error?.error_type).toBe('fuel_exhausted');
    expect(child.execution.fuel_limit).toBe(100_000_000);
    expect(child.execution.fuel_consumed).toBe(100_000_000);
  });

  it('keeps the parent alive when a child raises', async () => {
    const { result } = await run('failing');
    const { survived, failed } = result as { survived: boolean; failed: Envelope };
    expect(survived).toBe(true);
    expect(failed.success).toBe(false);
    expect(failed.error).toEqual({ error_type: 'task_error', message: 'RuntimeError: child failed on purpose' });
  });

  it('runs several calls in a row, each in its own sandbox', async () => {
    expect((await run('several')).result).toEqual([0, 0, 1, 3, 6]);
  });

  it('never gives a child more than its own declaration, even when the parent may read files', async () => {
    const child = (await run('escalate')).result as Envelope;
    expect(child.success).toBe(true);
    expect(child.result).toMatch(/^denied: /);
    expect(child.result).toContain('not inside an allowed directory');
    expect(child.execution.denials).toEqual([{ capability: 'file', target: './data/input.txt', reason: expect.stringContaining('not inside an allowed directory') }]);
  });

  it('refuses sub-tasks nested deeper than 8 levels, as an envelope the caller can read', async () => {
    const envelope = await py.run('subtasks.py', 'recurse', [0]);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ deepest: 8, refused: { error_type: 'invalid_task', message: 'sub-tasks nest deeper than 8 levels' } });
  });
});
