import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { fixtureBundle, repoRoot } from '../helpers.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create();
});
afterAll(() => sandbox.close());

const run = async (task: string, args: unknown[] = []) =>
  sandbox.run({ bundle: await fixtureBundle('limits.ts'), task, args, baseDir: repoRoot });

describe('fuel', () => {
  it('stops a 1e8-iteration loop under LOW with fuel_exhausted, having used exactly the budget', async () => {
    const envelope = await run('spin');
    expect(envelope.error?.error_type).toBe('fuel_exhausted');
    expect(envelope.execution.fuel_limit).toBe(100_000_000);
    expect(envelope.execution.fuel_consumed).toBe(100_000_000);
  });

  it('consumes exactly the same fuel for the same input on every run', async () => {
    const runs = [await run('count', [200_000]), await run('count', [200_000]), await run('count', [200_000])];
    expect(runs.every((e) => e.success)).toBe(true);
    expect(new Set(runs.map((e) => e.execution.fuel_consumed)).size).toBe(1);
    const more = await run('count', [400_000]);
    expect(more.execution.fuel_consumed).toBeGreaterThan(runs[0]!.execution.fuel_consumed);
  });

  it('is deterministic for allocation-heavy code too (the GC sees virtual time)', async () => {
    const runs = [await run('churn', [20_000]), await run('churn', [20_000]), await run('churn', [20_000])];
    expect(runs.map((e) => e.result)).toEqual([2000, 2000, 2000]);
    expect(new Set(runs.map((e) => e.execution.fuel_consumed)).size).toBe(1);
  });
});

describe('memory', () => {
  it('fails an allocation loop past ram "32MB" with memory_exceeded, and the host stays healthy', async () => {
    const envelope = await run('hog');
    expect(envelope.error?.error_type).toBe('memory_exceeded');
    expect(envelope.error?.message).toContain('32MB');
    expect(envelope.execution.ram_limit).toBe(32 * 1024 * 1024);
    expect(envelope.execution.ram_used).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect((await run('main')).result).toBe('ok');
  });

  it('fails one allocation larger than the cap with memory_exceeded', async () => {
    const envelope = await run('big-buffer');
    expect(envelope.error?.error_type).toBe('memory_exceeded');
  });
});

describe('timeout', () => {
  it('stops a guest sleeping past its timeout', async () => {
    const envelope = await run('sleepy');
    expect(envelope.error).toEqual({ error_type: 'timeout', message: expect.stringContaining('timeout of 1s') });
  });

  it('preempts a CPU-bound loop under HIGH fuel, without blocking the caller meanwhile', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const envelope = await run('busy');
    clearInterval(ticker);
    // The guest spun on its own thread: this thread's timers kept firing all along.
    expect(ticks).toBeGreaterThan(5);
    expect(envelope.error?.error_type).toBe('timeout');
    // Under HIGH fuel the loop would spin for many minutes: only preemption ends it this soon.
    expect(envelope.execution.duration_ms).toBeLessThan(30_000);
    expect((await run('main')).result).toBe('ok');
  });

  it('lets timers sleep for real inside the limit', async () => {
    const envelope = await run('short-sleep', [200]);
    expect(envelope.success).toBe(true);
    expect(envelope.result).toBeGreaterThanOrEqual(200);
  });

  it('fires timers waited on together in the order of their deadlines', async () => {
    const envelope = await run('timers');
    expect(envelope.result).toEqual(['now', 'soon', 'late']);
  });
});
