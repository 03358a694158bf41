/**
 * A pipeline step's options are resolved once, by the client, and carried to the worker in workflow input
 * (RunRequest.resolved). The worker runs with exactly those, but only after holding them to what the task file
 * declares: a step (or a hand-made workflow input) can narrow a grant or set its own budgets, never grant more.
 */
import { describe, expect, it } from 'vitest';
import { resolveTaskOptions, type ResolvedTaskOptions, type TaskDefaults } from '../../src/config/task-options.js';
import { fixture, fixtureBundle, useSandboxAndDir } from '../helpers.js';

const { sandbox, dir } = useSandboxAndDir();

/** What the client resolves for files.ts#main: ./data read-only and ./out read-write. */
function declared(): ResolvedTaskOptions {
  return resolveTaskOptions({ name: 'main', allowedFiles: ['./data', { path: './out', mode: 'read-write' }] }, { file: fixture('files.ts'), baseDir: dir().base });
}

async function run(resolved: ResolvedTaskOptions, args: unknown[], task = 'main', defaults: TaskDefaults = {}) {
  return sandbox().run({ bundle: await fixtureBundle('files.ts'), task, args, baseDir: dir().base, resolved, defaults });
}

describe('options carried from the client', () => {
  it('run as carried: the budgets a step set, the grants it kept', async () => {
    const envelope = await run({ ...declared(), compute: 123_456_789, ram: 48 * 1024 * 1024 }, ['read', './data/input.txt']);
    expect(envelope.result).toEqual({ ok: true, value: 'input for the guest' });
    expect(envelope.execution).toMatchObject({ fuel_limit: 123_456_789, ram_limit: 48 * 1024 * 1024 });
  });

  it('may narrow what the file declares: a grant left out is not there', async () => {
    const narrowed = { ...declared(), allowedFiles: [{ path: 'data', mode: 'read-only' as const }] };
    const envelope = await run(narrowed, ['write', './out/x.txt']);
    expect(envelope.result).toMatchObject({ ok: false, code: 'EACCES' });
  });

  it.each([
    ['a directory the file does not declare', { allowedFiles: [{ path: '.', mode: 'read-write' as const }] }, 'allowedFiles'],
    ['a read-only directory made read-write', { allowedFiles: [{ path: 'data', mode: 'read-write' as const }] }, 'allowedFiles'],
    ['a host', { allowedHosts: ['api.example.com'] }, 'allowedHosts'],
    ['an environment variable', { envVariables: ['HOME'] }, 'envVariables'],
  ])('are refused when they grant %s, before anything runs', async (_, widened, option) => {
    const envelope = await run({ ...declared(), ...widened }, ['read', './data/input.txt']);
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toContain(`the step's options grant more ${option} than the task file declares`);
    expect(envelope.execution.fuel_consumed).toBe(0);
  });

  it('may carry a grant the file leaves to the project\'s defaults, and no more than those', async () => {
    const defaults: TaskDefaults = { allowedHosts: ['*.example.com'], envVariables: ['LANG'] };
    const withDefaults = { ...declared(), allowedHosts: ['api.example.com'], envVariables: ['LANG'] };
    expect((await run(withDefaults, ['read', './data/input.txt'], 'main', defaults)).result).toEqual({ ok: true, value: 'input for the guest' });
    const beyond = await run({ ...withDefaults, allowedHosts: ['api.example.org'] }, ['read', './data/input.txt'], 'main', defaults);
    expect(beyond.error?.message).toContain('the step\'s options grant more allowedHosts than the task file declares');
  });

  it('must be the options of the task they name', async () => {
    const envelope = await run({ ...declared(), name: 'nothing' }, [], 'main');
    expect(envelope.error).toMatchObject({ error_type: 'invalid_task', message: expect.stringContaining('the step\'s options are for task "nothing", but "main" is task "main"') });
  });
});
