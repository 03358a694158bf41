import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MountError } from '../../src/config/errors.js';
import { resolveMount, withMounts } from '../../src/config/mounts.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'capsule-mounts-'));
  mkdirSync(path.join(base, 'sessions/abc'), { recursive: true });
  mkdirSync(path.join(base, 'data'));
  writeFileSync(path.join(base, 'file.txt'), 'not a directory');
  symlinkSync(os.tmpdir(), path.join(base, 'link'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const refused = (spec: string) => {
  try {
    resolveMount(spec, base);
  } catch (error) {
    expect(error).toBeInstanceOf(MountError);
    return (error as Error).message;
  }
  throw new Error(`${spec} was accepted`);
};

describe('mounts: HOST[::GUEST][:ro|:rw]', () => {
  it('reads the host path, the guest alias and the mode; read-only unless :rw', () => {
    expect(resolveMount('sessions/abc::workspace', base)).toEqual({ hostPath: 'sessions/abc', guestPath: 'workspace', mode: 'read-only' });
    expect(resolveMount('./sessions/abc/::work/space:rw', base)).toEqual({ hostPath: 'sessions/abc', guestPath: 'work/space', mode: 'read-write' });
    expect(resolveMount('data:ro', base)).toEqual({ hostPath: 'data', guestPath: 'data', mode: 'read-only' });
    expect(resolveMount('data:rw', base)).toEqual({ hostPath: 'data', guestPath: 'data', mode: 'read-write' });
    expect(resolveMount('.::project', base)).toEqual({ hostPath: '.', guestPath: 'project', mode: 'read-only' });
  });

  it('follows the allowedFiles rules for the host directory, and names the mount', () => {
    expect(refused('/etc::etc')).toBe('mount "/etc::etc": got absolute path "/etc"; expected a path relative to the project directory, such as "./data"');
    expect(refused('../..::up')).toContain('escapes the project directory');
    expect(refused('missing::m')).toContain('"missing" is not an existing directory in the project directory');
    expect(refused('file.txt::f')).toContain('is not an existing directory');
    expect(refused('link::l')).toContain('goes through a symbolic link ("link")');
    expect(refused('link/x::l')).toContain('goes through a symbolic link');
  });

  it('refuses guest paths that are absolute, leave the task directory or name nothing', () => {
    expect(refused('data::/abs')).toContain('is absolute');
    expect(refused('data::../up')).toContain('contains ".."');
    expect(refused('data::.')).toContain('must name a directory');
    expect(refused('::x')).toContain('expected HOST[::GUEST][:ro|:rw]');
  });

  it('adds directories without changing the task\'s own; conflicts are refused', () => {
    const declared = [{ path: 'data', mode: 'read-only' as const }];
    expect(withMounts(declared, [resolveMount('data:rw', base), resolveMount('sessions/abc::ws:rw', base)])).toEqual([
      { path: 'data', mode: 'read-only' },
      { path: 'ws', mode: 'read-write', hostPath: 'sessions/abc' },
    ]);
    expect(() => withMounts(declared, [resolveMount('sessions/abc::data', base)])).toThrow(/"data" is already a directory the task uses, for another host directory/);
    expect(() => withMounts([], [resolveMount('data::ws', base), resolveMount('sessions::ws', base)])).toThrow(/already a directory the task uses/);
  });
});
