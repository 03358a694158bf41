/** Attacks on limits: output floods, abandoned sub-tasks, greedy sub-tasks, bulk memory and host-call loops. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/sandbox/index.js';
import { type AdversarialContext, waitFor } from './context.js';

const MIB = 1024 * 1024;
const bytes = (text: string) => Buffer.byteLength(text);

export function defineLimitAttacks(ctx: AdversarialContext): void {
  describe('limits that cannot be dodged', () => {
    beforeAll(() => ctx.beginClass());
    afterAll(() => ctx.endClass('limits'));

    for (const [language, file] of [['js', 'attacks.ts'], ['python', 'attacks.py']] as const) {
      it(`${language}: 3 MB on each stream and a 3 MB error stay within the caps, stack included`, async () => {
        const envelope = await ctx.run(file, 'noisy', [3]);
        expect(envelope.error?.error_type).toBe('task_error');
        expect(bytes(envelope.execution.stdout)).toBeLessThanOrEqual(MIB);
        expect(bytes(envelope.execution.stderr)).toBeLessThanOrEqual(MIB);
        expect(envelope.error!.message.length).toBeLessThanOrEqual(16 * 1024);
        expect(envelope.execution.truncated).toBe(true);
        expect(bytes(JSON.stringify(envelope))).toBeLessThan(2.2 * MIB);
      });
    }

    it('js: 22 sub-tasks that never end are stopped with the caller that timed out', async () => {
      const envelope = await ctx.run('attacks.ts', 'abandon', [22]);
      expect(envelope.error?.error_type).toBe('timeout');
      // Each child would hold a thread for its own 5 minutes: the pool must be back to its size at once.
      await waitFor(() => ctx.sandbox.threadCount <= ctx.sandbox.poolSize, 10_000);
    });

    it('python: a sub-task that never ends is stopped with the caller that timed out', async () => {
      const envelope = await ctx.run('attacks.py', 'abandon');
      expect(envelope.error?.error_type).toBe('timeout');
      await waitFor(() => ctx.sandbox.threadCount <= ctx.sandbox.poolSize, 10_000);
      // The child's thread is free again: a task runs at once.
      expect((await ctx.run('attacks.py', 'hello', ['after'])).result).toBe('hello after');
    });

    for (const [language, file] of [['js', 'attacks.ts'], ['python', 'attacks.py']] as const) {
      it(`${language}: a sub-task gets at most its caller's fuel, memory, time, files, hosts and variables, and the record says what was cut`, async () => {
        const parent = await ctx.run(file, 'frugal', [], { env: { HOME: '/home/guest', PATH: '/usr/bin' } });
        expect(parent.error).toBeNull();
        const child = parent.result as Envelope;
        expect(child.result).toEqual({ wrote: language === 'js' ? 'EACCES' : 'PermissionError', path: null });
        expect(child.execution).toMatchObject({ fuel_limit: 100_000_000, ram_limit: 64 * MIB });
        const cut = Object.fromEntries((child.execution.narrowed ?? []).map((n) => [n.option, n.granted]));
        expect(cut).toMatchObject({
          compute: 100_000_000,
          ram: 64 * MIB,
          timeout: 20_000,
          allowedFiles: [{ path: 'data', mode: 'read-only' }],
          envVariables: ['HOME'],
        });
        expect(cut.allowedHosts).toEqual(language === 'js' ? ['api.example.com'] : []);
        expect(child.execution.narrowed!.find((n) => n.option === 'compute')?.declared).toBe(50_000_000_000);
      });
    }

    for (const [language, file, task] of [['js', 'attacks.ts', 'bulk'], ['python', 'attacks.py', 'bulk']] as const) {
      it(`${language}: bulk memory fills and copies in a loop run out of fuel, not into the wall-clock timeout`, async () => {
        for (const mode of ['fill', 'copy']) {
          const envelope = await ctx.run(file, task, [mode]);
          expect(envelope.error?.error_type).toBe('fuel_exhausted');
          expect(envelope.execution.duration_ms).toBeLessThan(30_000);
        }
      });
    }

    for (const [language, file, task] of [['js', 'attacks.ts', 'hostCalls'], ['python', 'attacks.py', 'host_calls']] as const) {
      it(`${language}: a loop of host calls runs out of fuel`, async () => {
        const envelope = await ctx.run(file, task);
        expect(envelope.error?.error_type).toBe('fuel_exhausted');
        expect(envelope.execution.duration_ms).toBeLessThan(30_000);
      });
    }
  });
}
