import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTaskOptions, TaskOptionsError } from '../../src/config/task-options.js';
import { taskDir } from '../helpers.js';

const dir = taskDir();
afterAll(() => dir.cleanup());
const ctx = { file: 'tasks/main.ts', baseDir: dir.base };
const resolve = (options: Record<string, unknown>, extra: object = {}) => resolveTaskOptions({ name: 'main', ...options }, { ...ctx, ...extra });
const rejection = (options: Record<string, unknown>, extra: object = {}) => {
  try {
    resolve(options, extra);
  } catch (error) {
    expect(error).toBeInstanceOf(TaskOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected a TaskOptionsError');
};

describe('task options', () => {
  it('applies the built-in defaults', () => {
    expect(resolve({})).toEqual({
      name: 'main', fuel: 2_000_000_000, ramBytes: 256 * 1024 * 1024, timeoutMs: 60_000, maxRetries: 0,
      allowedFiles: [], allowedHosts: [], envVariables: [],
    });
  });

  it('compiles units and levels (case-insensitive)', () => {
    expect(resolve({ compute: 'low', ram: '512KB', timeout: '500ms' })).toMatchObject({ fuel: 100_000_000, ramBytes: 512 * 1024, timeoutMs: 500 });
    expect(resolve({ compute: 'High', ram: '1GB', timeout: '2m' })).toMatchObject({ fuel: 50_000_000_000, ramBytes: 1024 ** 3, timeoutMs: 120_000 });
    expect(resolve({ compute: 12345, ram: 1_000_000, timeout: 1500 })).toMatchObject({ fuel: 12345, ramBytes: 1_000_000, timeoutMs: 1500 });
  });

  it('normalises allowed files; a string is read-only', () => {
    expect(resolve({ allowedFiles: ['./data', { path: 'out/', mode: 'read-write' }] }).allowedFiles).toEqual([
      { path: 'data', mode: 'read-only' },
      { path: 'out', mode: 'read-write' },
    ]);
  });

  it.each([
    [{ compute: 'TURBO' }, 'option "compute": got "TURBO"; expected "LOW"'],
    [{ compute: -5 }, 'option "compute": got -5'],
    [{ ram: 'lots' }, 'option "ram": got "lots"; expected a size such as "512KB", "64MB" or "1GB"'],
    [{ timeout: 'forever' }, 'option "timeout": got "forever"; expected a duration such as "500ms"'],
    [{ maxRetries: -1 }, 'option "maxRetries": expected an integer >= 0'],
    [{ maxRetries: 1.5 }, 'option "maxRetries": expected an integer >= 0'],
    [{ allowedFiles: ['/etc'] }, 'option "allowedFiles[0]": got absolute path "/etc"'],
    [{ allowedFiles: ['../outside'] }, 'option "allowedFiles[0]": "../outside" escapes'],
    [{ allowedFiles: ['./data', './missing'] }, 'option "allowedFiles[1]": "./missing" is not an existing directory'],
    [{ allowedFiles: [{ path: './data', mode: 'write-only' }] }, 'option "allowedFiles[0].mode": expected "read-only" or "read-write"'],
    [{ allowedHosts: ['https://api.example.com'] }, 'option "allowedHosts[0]": expected a host name'],
    [{ envVariables: ['NOT VALID'] }, 'option "envVariables[0]": expected an environment variable name'],
    [{ computee: 'LOW' }, 'unknown option(s) "computee"'],
    [{ allowedFiles: [42] }, 'option "allowedFiles[0]": got 42; expected a relative directory'],
  ])('rejects %j naming the file, the task and the option', (options, expected) => {
    const message = rejection(options);
    expect(message).toContain('tasks/main.ts: task "main": ');
    expect(message).toContain(expected);
  });

  it('refuses granted directories that are links, and read-write directories inside read-only ones, naming no host path', () => {
    symlinkSync(dir.root, path.join(dir.base, 'link'));
    mkdirSync(path.join(dir.base, 'data/cache'), { recursive: true });
    expect(rejection({ allowedFiles: ['./link'] })).toContain('option "allowedFiles[0]": "./link" goes through a symbolic link ("link")');
    expect(rejection({ allowedFiles: ['./link/inner'] })).toContain('goes through a symbolic link');
    expect(rejection({ allowedFiles: ['./data', { path: './data/cache', mode: 'read-write' }] })).toContain('option "allowedFiles": "data/cache" is read-write but lies inside "data", which is read-only; the narrower mode wins for the deeper path');
    expect(resolve({ allowedFiles: [{ path: './data', mode: 'read-write' }, './data/cache'] }).allowedFiles).toHaveLength(2);
    for (const options of [{ allowedFiles: ['./missing'] }, { allowedFiles: ['../x'] }, { allowedFiles: ['./link'] }]) expect(rejection(options)).not.toContain(dir.root);
  });

  it('requires a name', () => {
    expect(() => resolveTaskOptions({ compute: 'LOW' }, ctx)).toThrow('tasks/main.ts: option "name"');
  });

  it('takes defaults from capsule.toml, under the task\'s own declarations', () => {
    const defaults = { compute: 'LOW', ram: '64MB', timeout: '5s', maxRetries: 2, allowedHosts: ['api.example.com'], envVariables: ['KEY'] };
    expect(resolve({}, { defaults })).toMatchObject({ fuel: 100_000_000, ramBytes: 64 * 1024 ** 2, timeoutMs: 5000, maxRetries: 2, allowedHosts: ['api.example.com'], envVariables: ['KEY'] });
    expect(resolve({ compute: 'HIGH', allowedHosts: [] }, { defaults })).toMatchObject({ fuel: 50_000_000_000, allowedHosts: [] });
    expect(rejection({}, { defaults: { ram: 'huge' } })).toContain('capsule.toml: option "default ram"');
  });

  it('applies limit overrides (pipelines) but rejects bad ones', () => {
    expect(resolve({ compute: 'LOW', maxRetries: 1 }, { overrides: { compute: 'MEDIUM', maxRetries: 3 } })).toMatchObject({ fuel: 2_000_000_000, maxRetries: 3 });
    expect(rejection({}, { overrides: { timeout: 'soon' } })).toContain('option "override timeout"');
  });

  it('resolves relative directories against the base directory', () => {
    expect(path.isAbsolute(dir.base)).toBe(true);
    expect(resolve({ allowedFiles: ['data'] }).allowedFiles).toEqual([{ path: 'data', mode: 'read-only' }]);
  });
});
