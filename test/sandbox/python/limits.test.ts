import { describe, expect, it } from 'vitest';
import { usePythonSandbox } from './python.js';

const py = usePythonSandbox();
const run = (task: string, args: unknown[] = []) => py.run('limits.py', task, args);

const MB = 1024 * 1024;

describe('fuel', () => {
  it('stops a long loop under LOW with fuel_exhausted, having used exactly the budget', async () => {
    const envelope = await run('spin');
    expect(envelope.success).toBe(false);
    expect(envelope.error).toEqual({ error_type: 'fuel_exhausted', message: 'the task used its whole fuel budget of 100,000,000 units' });
    expect(envelope.execution.fuel_limit).toBe(100_000_000);
    expect(envelope.execution.fuel_consumed).toBe(100_000_000);
  });

  it('meters loops inside the interpreter\'s C code too (builtin sum, the regex engine), not just Python bytecode', async () => {
    for (const task of ['c-loop', 'redos']) {
      const envelope = await run(task);
      expect(envelope.error?.error_type, task).toBe('fuel_exhausted');
      expect(envelope.execution.fuel_consumed, task).toBe(100_000_000);
    }
  });

  it('consumes exactly the same fuel for the same input on every run, and more for a larger input', async () => {
    const runs = [await run('count', [20_000]), await run('count', [20_000]), await run('count', [20_000])];
    const expected = Array.from({ length: 20_000 }, (_, i) => i % 7).reduce((a, b) => a + b, 0);
    expect(runs.map((e) => e.result)).toEqual([expected, expected, expected]);
    const fuel = runs.map((e) => e.execution.fuel_consumed);
    expect(fuel[0]).toBeGreaterThan(0);
    expect(fuel[1]).toBe(fuel[0]);
    expect(fuel[2]).toBe(fuel[0]);
    const more = await run('count', [40_000]);
    expect(more.success).toBe(true);
    expect(more.execution.fuel_consumed).toBeGreaterThan(fuel[0]!);
  });

  it('is deterministic for allocation-heavy code too (the garbage collector runs the same way)', async () => {
    const runs = [await run('churn', [2_000]), await run('churn', [2_000]), await run('churn', [2_000])];
    expect(runs.map((e) => e.result)).toEqual([200, 200, 200]);
    const fuel = runs.map((e) => e.execution.fuel_consumed);
    expect(fuel[1]).toBe(fuel[0]);
    expect(fuel[2]).toBe(fuel[0]);
  });
});

describe('memory', () => {
  it('fails a list growing past ram "64MB" with memory_exceeded, and the next run on the same sandbox is healthy', async () => {
    const envelope = await run('hog-list');
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('memory_exceeded');
    expect(envelope.error?.message).toContain('64MB');
    expect(envelope.execution.ram_limit).toBe(64 * MB);
    expect(envelope.execution.ram_used).toBeLessThanOrEqual(64 * MB);
    expect((await run('main')).result).toBe('ok');
  });

  it('fails a bytearray growing past ram "64MB" with memory_exceeded, and the sandbox stays healthy', async () => {
    const envelope = await run('hog-bytes');
    expect(envelope.error?.error_type).toBe('memory_exceeded');
    expect(envelope.execution.ram_used).toBeLessThanOrEqual(64 * MB);
    expect((await run('main')).result).toBe('ok');
  });

  it('keeps a MemoryError the task raises itself (with a message) a task_error', async () => {
    const envelope = await run('own-memory-error');
    expect(envelope.error).toEqual({ error_type: 'task_error', message: 'MemoryError: cache budget exceeded' });
  });

  it('fails one allocation larger than the cap with memory_exceeded', async () => {
    const envelope = await run('big-buffer');
    expect(envelope.error?.error_type).toBe('memory_exceeded');
  });

  it('refuses a ram below what the Python runtime starts with, naming the option', async () => {
    const envelope = await run('too-small');
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toContain('task "too-small": option "ram"');
    expect(envelope.error?.message).toContain('Python runtime');
    expect(envelope.execution.fuel_consumed).toBe(0);
  });
});

describe('timeout', () => {
  it('stops a guest in time.sleep(60) past its timeout of 1s', async () => {
    const envelope = await run('sleepy');
    expect(envelope.success).toBe(false);
    expect(envelope.error).toEqual({ error_type: 'timeout', message: expect.stringContaining('timeout of 1s') });
    expect(envelope.result).toBeNull();
  });

  it('preempts a CPU-bound loop under HIGH fuel, and the sandbox stays healthy', async () => {
    const envelope = await run('busy');
    expect(envelope.error).toEqual({ error_type: 'timeout', message: expect.stringContaining('timeout of 2s') });
    // Not fuel: HIGH would last far longer than the timeout.
    expect(envelope.execution.fuel_consumed).toBeLessThan(envelope.execution.fuel_limit);
    expect((await run('main')).result).toBe('ok');
  });
});
