import { describe, expect, it } from 'vitest';
import type { AllowedFile, ResolvedTaskOptions } from '../../src/config/task-options.js';
import { narrowToCaller } from '../../src/sandbox/narrow.js';

const options = (over: Partial<ResolvedTaskOptions>): ResolvedTaskOptions => ({
  name: 't', compute: 1000, ram: 1 << 26, timeout: 60_000, maxRetries: 0, allowedFiles: [], allowedHosts: [], envVariables: [],
  secrets: {}, maxResponseSize: 10 * 1024 * 1024, ...over,
});
const files = (declared: AllowedFile[], caller: AllowedFile[]) => narrowToCaller(options({ allowedFiles: declared }), options({ allowedFiles: caller })).options.allowedFiles;
const hosts = (declared: string[], caller: string[]) => narrowToCaller(options({ allowedHosts: declared }), options({ allowedHosts: caller })).options.allowedHosts;

describe('sub-tasks only narrow', () => {
  it('takes the smaller of fuel, memory and time, and records each cut under its option name', () => {
    const { options: granted, narrowed } = narrowToCaller(options({ compute: 5000, ram: 1 << 30, timeout: 300_000 }), options({ compute: 1000, ram: 1 << 26, timeout: 10_000 }));
    expect(granted).toMatchObject({ compute: 1000, ram: 1 << 26, timeout: 10_000 });
    expect(narrowed).toEqual([
      { option: 'compute', declared: 5000, granted: 1000 },
      { option: 'ram', declared: 1 << 30, granted: 1 << 26 },
      { option: 'timeout', declared: 300_000, granted: 10_000 },
    ]);
    expect(narrowToCaller(options({ compute: 10 }), options({ compute: 1000 })).narrowed).toEqual([]);
  });

  it('keeps only the host directories the caller has, with the narrower mode, under the child\'s names', () => {
    expect(files([{ path: 'data', mode: 'read-write' }], [{ path: 'data', mode: 'read-only' }])).toEqual([{ path: 'data', mode: 'read-only' }]);
    expect(files([{ path: 'data/sub', mode: 'read-write' }], [{ path: 'data', mode: 'read-write' }])).toEqual([{ path: 'data/sub', mode: 'read-write' }]);
    expect(files([{ path: 'data', mode: 'read-write' }], [{ path: 'data/sub', mode: 'read-only' }])).toEqual([{ path: 'data/sub', mode: 'read-only' }]);
    expect(files([{ path: 'out', mode: 'read-write' }], [{ path: 'data', mode: 'read-write' }])).toEqual([]);
    // Capabilities are host directories: an alias of the caller's directory is the same directory.
    expect(files([{ path: 'ws', mode: 'read-write', hostPath: 'sessions/a' }], [{ path: 'data', mode: 'read-only', hostPath: 'sessions' }])).toEqual([{ path: 'ws', mode: 'read-only', hostPath: 'sessions/a' }]);
    expect(files([{ path: 'data', mode: 'read-only' }], [{ path: 'other', mode: 'read-write', hostPath: 'data' }])).toEqual([{ path: 'data', mode: 'read-only' }]);
  });

  it('keeps the hosts both allowlists match, narrowing wildcards and ports', () => {
    expect(hosts(['api.example.com', 'evil.org'], ['api.example.com'])).toEqual(['api.example.com']);
    expect(hosts(['*.example.com'], ['api.example.com:8443'])).toEqual(['api.example.com:8443']);
    expect(hosts(['api.example.com'], ['*.example.com'])).toEqual(['api.example.com']);
    expect(hosts(['*.example.com'], ['*.a.example.com'])).toEqual(['*.a.example.com']);
    expect(hosts(['example.com'], ['*.example.com'])).toEqual([]);
    expect(hosts(['127.0.0.1:80'], ['127.0.0.1:8080'])).toEqual([]);
    expect(hosts(['[::1]:8080'], ['[::1]'])).toEqual(['[::1]:8080']);
  });

  it('keeps only the secrets (names and hosts) and the response size the caller has', () => {
    const { options: granted, narrowed } = narrowToCaller(
      options({ secrets: { A: ['api.example.com', 'other.org'], B: ['b.test'] }, maxResponseSize: 1 << 30 }),
      options({ secrets: { A: ['api.example.com'] }, maxResponseSize: 1 << 20 }),
    );
    expect(granted).toMatchObject({ secrets: { A: ['api.example.com'] }, maxResponseSize: 1 << 20 });
    expect(narrowed.map((n) => n.option)).toEqual(['secrets', 'maxResponseSize']);
  });

  it('keeps only the environment variables the caller may read', () => {
    const { options: granted, narrowed } = narrowToCaller(options({ envVariables: ['HOME', 'AWS_SECRET'] }), options({ envVariables: ['HOME'] }));
    expect(granted.envVariables).toEqual(['HOME']);
    expect(narrowed).toEqual([{ option: 'envVariables', declared: ['HOME', 'AWS_SECRET'], granted: ['HOME'] }]);
  });

  it('records files as the guest sees them, never a host directory', () => {
    const { narrowed } = narrowToCaller(options({ allowedFiles: [{ path: 'ws', mode: 'read-write', hostPath: 'sessions/a' }] }), options({}));
    expect(narrowed).toEqual([{ option: 'allowedFiles', declared: [{ path: 'ws', mode: 'read-write' }], granted: [] }]);
  });
});
