/** Mounts from the run (capsule exec/run --mount, a step's mounts): directories under guest names, same rules as allowedFiles. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCommand } from '../../src/cli/commands/exec.js';
import { fixture, fixtureBundle, useSandboxAndDir } from '../helpers.js';

const shared = useSandboxAndDir();
const run = async (op: string, target: string, mounts: string[], extra?: string) =>
  shared.sandbox().run({ bundle: await fixtureBundle('files.ts'), task: 'main', args: extra === undefined ? [op, target] : [op, target, extra], baseDir: shared.dir().base, mounts });

describe('mounts', () => {
  it('show a directory of the project under its guest path, read-only unless :rw', async () => {
    const base = shared.dir().base;
    mkdirSync(path.join(base, 'sessions/abc'), { recursive: true });
    writeFileSync(path.join(base, 'sessions/abc/note.txt'), 'session note');
    expect((await run('read', './workspace/note.txt', ['sessions/abc::workspace'])).result).toEqual({ ok: true, value: 'session note' });
    const readOnly = await run('write', './workspace/new.txt', ['sessions/abc::workspace']);
    expect(readOnly.result).toMatchObject({ ok: false, code: 'EACCES', message: expect.stringContaining('./workspace is read-only') });
    expect((await run('write', './workspace/new.txt', ['sessions/abc::workspace:rw'], 'written')).result).toMatchObject({ ok: true });
    expect(readFileSync(path.join(base, 'sessions/abc/new.txt'), 'utf8')).toBe('written');
  });

  it('never change a directory the task declares: its mode stays, and another host directory under its name is refused', async () => {
    // files.ts declares ./data read-only.
    expect((await run('write', './data/x.txt', ['data:rw'])).result).toMatchObject({ ok: false, code: 'EACCES' });
    const conflict = await run('read', './data/input.txt', ['out::data']);
    expect(conflict.error).toEqual({ error_type: 'invalid_task', message: 'mount "out::data": "data" is already a directory the task uses, for another host directory; mount it under another guest path' });
  });

  it('a bad mount is an invalid_task envelope from the API, and a usage error from capsule exec', async () => {
    expect((await run('read', 'x', ['../escape::x'])).error?.message).toContain('escapes the project directory');
    const out: string[] = [];
    const err: string[] = [];
    const io = { cwd: shared.dir().base, out: (t: string) => out.push(t), err: (t: string) => err.push(t), tty: false, env: {} };
    const code = await execCommand({ file: fixture('files.ts'), args: ['read', './w/input.txt'], json: true, mounts: ['nowhere::w'] }, io);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('--mount mount "nowhere::w": "nowhere" is not an existing directory in the project directory');
    const ok = await execCommand({ file: fixture('files.ts'), args: ['read', './w/input.txt'], json: true, mounts: ['data::w'] }, io);
    expect(ok).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ success: true, result: { ok: true, value: 'input for the guest' } });
  });
});
