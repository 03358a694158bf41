import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskOptionsError } from '../../src/config/errors.js';
import { resolveTaskOptions } from '../../src/config/task-options.js';
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
      name: 'main', compute: 2_000_000_000, ram: 256 * 1024 * 1024, timeout: 60_000, maxRetries: 0,
      allowedFiles: [], allowedHosts: [], envVariables: [], secrets: {}, maxResponseSize: 10 * 1024 * 1024,
    });
  });

  it('compiles units and levels (case-insensitive)', () => {
    expect(resolve({ compute: 'low', ram: '512KB', timeout: '500ms' })).toMatchObject({ compute: 100_000_000, ram: 512 * 1024, timeout: 500 });
    expect(resolve({ compute: 'High', ram: '1GB', timeout: '2m' })).toMatchObject({ compute: 50_000_000_000, ram: 1024 ** 3, timeout: 120_000 });
    expect(resolve({ compute: 12345, ram: 1_000_000, timeout: 1500 })).toMatchObject({ compute: 12345, ram: 1_000_000, timeout: 1500 });
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
    [{ allowedHosts: ['https://api.example.com'] }, 'option "allowedHosts[0]": got "https://api.example.com"; expected a host such as'],
    [{ allowedHosts: ['*.127.0.0.1'] }, 'option "allowedHosts[0]": got "*.127.0.0.1"; expected a wildcard over a domain name'],
    [{ allowedHosts: ['[::1'] }, 'option "allowedHosts[0]": got "[::1"'],
    [{ allowedHosts: ['api.example.com:70000'] }, 'option "allowedHosts[0]": got "api.example.com:70000"'],
    [{ allowedHosts: ['user@api.example.com'] }, 'option "allowedHosts[0]": got "user@api.example.com"'],
    [{ secrets: { 'NOT VALID': ['api.example.com'] } }, 'option "secrets.NOT VALID": expected an environment variable name'],
    [{ secrets: { API_KEY: [] } }, 'option "secrets.API_KEY": expected at least one host'],
    [{ secrets: { API_KEY: 'api.example.com' } }, 'option "secrets.API_KEY": expected a list of hosts'],
    [{ secrets: { API_KEY: ['https://api.example.com/v1'] } }, 'option "secrets.API_KEY[0]": got "https://api.example.com/v1"'],
    [{ allowedHosts: ['other.example.com'], secrets: { API_KEY: ['api.example.com'] } }, 'option "secrets.API_KEY": host "api.example.com" is not covered by allowedHosts (other.example.com): add it there too'],
    [{ allowedHosts: ['api.example.com:443'], secrets: { API_KEY: ['api.example.com'] } }, 'option "secrets.API_KEY": host "api.example.com" is not covered by allowedHosts'],
    [{ allowedHosts: ['api.example.com'], envVariables: ['API_KEY'], secrets: { API_KEY: ['api.example.com'] } }, 'option "secrets.API_KEY": "API_KEY" is also in envVariables'],
    [{ maxResponseSize: 'big' }, 'option "maxResponseSize": got "big"; expected a size'],
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
    expect(resolve({}, { defaults })).toMatchObject({ compute: 100_000_000, ram: 64 * 1024 ** 2, timeout: 5000, maxRetries: 2, allowedHosts: ['api.example.com'], envVariables: ['KEY'] });
    expect(resolve({ compute: 'HIGH', allowedHosts: [] }, { defaults })).toMatchObject({ compute: 50_000_000_000, allowedHosts: [] });
    expect(rejection({}, { defaults: { ram: 'huge' } })).toContain('capsule.toml: option "default ram"');
  });

  it('normalises hosts, and takes secrets and maxResponseSize', () => {
    const options = resolve({ allowedHosts: ['API.Example.com.', '*.example.org', '[0:0::1]:8080', 'bücher.example'], secrets: { API_KEY: ['api.example.com', 'x.example.org:443'] }, maxResponseSize: '1MB' });
    expect(options).toMatchObject({
      allowedHosts: ['api.example.com', '*.example.org', '[::1]:8080', 'xn--bcher-kva.example'],
      secrets: { API_KEY: ['api.example.com', 'x.example.org:443'] },
      maxResponseSize: 1024 * 1024,
    });
    expect(resolve({}).maxResponseSize).toBe(10 * 1024 * 1024);
  });

  it('lets a step narrow secrets, never widen them', () => {
    const declared = { allowedHosts: ['*.example.com'], secrets: { API_KEY: ['*.example.com'], OTHER: ['a.example.com'] } };
    expect(resolve(declared, { overrides: { secrets: { API_KEY: ['api.example.com:443'] } } }).secrets).toEqual({ API_KEY: ['api.example.com:443'] });
    expect(resolve(declared, { overrides: { secrets: {} } }).secrets).toEqual({});
    expect(rejection(declared, { overrides: { secrets: { NEW_KEY: ['a.example.com'] } } })).toContain('option "override secrets.NEW_KEY": the task does not declare this secret (it declares: API_KEY, OTHER); a step can only narrow secrets');
    expect(rejection(declared, { overrides: { secrets: { OTHER: ['b.example.com'] } } })).toContain('option "override secrets.OTHER": host "b.example.com" is not among the task\'s hosts for it (a.example.com)');
    expect(rejection(declared, { overrides: { secrets: { API_KEY: ['example.com'] } } })).toContain('is not among the task\'s hosts');
  });

  it('names secrets\' problems the Python way in a Python file', () => {
    const python = { file: 'tasks/main.py', spelling: 'python' as const, baseDir: dir.base };
    expect(() => resolveTaskOptions({ name: 'main', env_variables: ['API_KEY'], allowed_hosts: ['a.example.com'], secrets: { API_KEY: ['a.example.com'] } }, python))
      .toThrow('"API_KEY" is also in env_variables');
    expect(resolveTaskOptions({ name: 'main', max_response_size: '2KB' }, python).maxResponseSize).toBe(2048);
  });

  it('applies limit overrides (pipelines) but rejects bad ones', () => {
    expect(resolve({ compute: 'LOW', maxRetries: 1 }, { overrides: { compute: 'MEDIUM', maxRetries: 3 } })).toMatchObject({ compute: 2_000_000_000, maxRetries: 3 });
    expect(rejection({}, { overrides: { timeout: 'soon' } })).toContain('option "override timeout"');
  });

  it('resolves relative directories against the base directory', () => {
    expect(path.isAbsolute(dir.base)).toBe(true);
    expect(resolve({ allowedFiles: ['data'] }).allowedFiles).toEqual([{ path: 'data', mode: 'read-only' }]);
  });
});
