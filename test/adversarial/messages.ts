/** Attacks on the host's parsing: malformed runner replies, hostile values, sub-task bodies, deep input, terminals. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/sandbox/index.js';
import { repoRoot } from '../helpers.js';
import type { AdversarialContext } from './context.js';

const deepJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

export function defineMessageAttacks(ctx: AdversarialContext): void {
  describe('the host survives anything the guest sends', () => {
    beforeAll(() => ctx.beginClass());
    afterAll(() => ctx.endClass('messages'));

    it('JavaScript: a runner that answers undefined, null for a failure, or JSON 5,000 levels deep gives an envelope', async () => {
      const run = (mode: string) => ctx.run('attacks.ts', 'malformed', [mode]);
      expect((await run('undefined-reply')).error?.error_type).toBe('internal_error');
      expect((await run('null-failure')).error).toEqual({ error_type: 'internal_error', message: expect.stringContaining('malformed reply') });
      expect((await run('replaced-stringify')).result).toEqual({ fine: true });
      expect((await run('replaced-encoder')).result).toEqual({ fine: true });
      expect((await run('garbage-file-call')).result).toBe('EINVAL');
      const deep = await run('deep-result');
      expect(deep.error).toEqual({ error_type: 'task_error', message: expect.stringMatching(/not JSON-serialisable|nests \d+ levels deep/) });
    });

    it('Python: a runner whose JSON encoder returns garbage or null gives an envelope', async () => {
      const run = (mode: string) => ctx.run('attacks.py', 'malformed', [mode]);
      expect((await run('garbage-reply')).error).toEqual({ error_type: 'internal_error', message: expect.stringContaining('malformed reply') });
      expect((await run('null-failure')).error).toEqual({ error_type: 'internal_error', message: expect.stringContaining('malformed reply') });
      expect((await run('replaced-dumps')).result).toEqual({ fine: true });
      expect(['task_error', 'internal_error', 'memory_exceeded']).toContain((await run('deep-result')).error?.error_type);
    });

    it('every result and thrown value gives a complete envelope', async () => {
      const js = async (mode: string) => ctx.run('attacks.ts', 'values', [mode]);
      const failed = (envelope: Envelope, message: RegExp) => expect(envelope.error).toEqual({ error_type: 'task_error', message: expect.stringMatching(message) });
      failed(await js('function'), /not JSON-serialisable: the task returned a function/);
      failed(await js('symbol'), /not JSON-serialisable: the task returned a symbol/);
      expect((await js('undefined')).result).toBeNull();
      failed(await js('bigint'), /not JSON-serialisable: TypeError/);
      failed(await js('cyclic'), /not JSON-serialisable/);
      failed(await js('throw-symbol'), /^the task threw Symbol\(thrown\)$/);
      failed(await js('throw-undefined'), /^the task threw undefined$/);
      failed(await js('throw-null'), /^null$/);
      failed(await js('throw-hostile'), /cannot be printed/);
      failed(await js('throw-proxy'), /cannot be printed/);
      const py = async (mode: string) => ctx.run('attacks.py', 'values', [mode]);
      for (const mode of ['function', 'nan', 'bytes', 'cyclic']) failed(await py(mode), /not JSON-serialisable/);
      failed(await py('raise-hostile'), /Hostile/);
      failed(await py('exit'), /exited the sandbox process/);
    });

    it('sub-task requests that are not JSON, nested 100,000 deep, null or misnamed get a 400; a good one still works', async () => {
      const envelope = await ctx.run('attacks.ts', 'subtaskGarbage');
      expect(envelope.result).toEqual({
        notJson: expect.stringMatching(/^400 sub-task arguments cannot be read: it is not JSON/),
        deep: expect.stringMatching(/^400 sub-task arguments cannot be read: it nests 100002 levels deep/),
        nullBody: expect.stringMatching(/^400 sub-task arguments must be/),
        wrongShape: expect.stringMatching(/^400 sub-task arguments must be/),
        badName: expect.stringMatching(/^400 the sub-task name is not valid percent-encoding/),
        fine: expect.stringMatching(/^200 /),
      });
    });

    it('arguments nested 5,000 deep are refused with a clear error, by the API and by the CLI', async () => {
      const envelope = await ctx.run('attacks.ts', 'hello', [JSON.parse(deepJson(5000))]);
      expect(envelope.error).toEqual({ error_type: 'invalid_task', message: expect.stringContaining('nests more than 512 levels deep') });
      const file = path.join(repoRoot, 'test/adversarial/tasks/attacks.ts');
      const cli = await ctx.cli(['exec', file, '--task', 'hello', '--input', deepJson(5000), '--json'], ctx.base);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toContain('--input: cannot be passed to tasks: it nests more than 512 levels deep');
      expect(JSON.parse(cli.stdout)).toMatchObject({ success: false, error: { error_type: 'invalid_task' } });
    });

    for (const [language, file] of [['js', 'attacks.ts'], ['python', 'attacks.py']] as const) {
      it(`${language}: terminal control sequences from the guest are shown, not obeyed, without --json`, async () => {
        const cli = await ctx.cli(['exec', path.join(repoRoot, 'test/adversarial/tasks', file), '--task', 'terminal'], ctx.base);
        expect(cli.code).toBe(1);
        expect(cli.stdout).toContain('\\x1b]52;c;Y2xpcGJvYXJk\\x07\\x1b[2K');
        expect(cli.stdout).toContain('\\x9b31m\\u202eevil');
        expect(cli.stdout).not.toMatch(CONTROL);
        // With --json the output is the envelope as it is, for programs.
        const json = await ctx.cli(['exec', path.join(repoRoot, 'test/adversarial/tasks', file), '--task', 'terminal', '--json'], ctx.base);
        expect((JSON.parse(json.stdout) as Envelope).execution.stdout).toContain('\x1b]52;c;');
      });
    }
  });
}
