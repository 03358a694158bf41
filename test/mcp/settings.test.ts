/**
 * The server's settings (flags over capsule.toml [mcp] over defaults that grant nothing), a call's limits within
 * them, and the session store's rules (one call of a session at a time, a cap on sessions, plain ids).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planCall } from '../../src/mcp/limits.js';
import { McpSettingsError, ToolError } from '../../src/mcp/errors.js';
import { SessionStore, sessionIdSchema } from '../../src/mcp/sessions.js';
import { parseListenAddress, resolveMcpSettings, type Ceilings } from '../../src/mcp/settings.js';
import { serverDir } from './helpers.js';

const server = serverDir();
afterAll(() => server.cleanup());

describe('settings', () => {
  it('grant nothing by default: LOW compute, 256MB, 10 s, no hosts, no files, stdio', () => {
    const settings = resolveMcpSettings({}, server.dir);
    expect(settings).toEqual({
      directory: server.dir,
      ceilings: { compute: 100_000_000, ram: 256 * 1024 ** 2, timeout: 10_000, allowedHosts: [], files: false },
      maxOutputBytes: 256 * 1024,
      sessions: { quotaBytes: 100 * 1024 ** 2, maxEntries: 10_000, maxSessions: 100 },
    });
  });

  it('take capsule.toml [mcp] from the server directory, and flags over it', () => {
    const dir = path.join(server.dir, 'configured');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'capsule.toml'), '[mcp]\nmax_compute = "MEDIUM"\nmax_timeout = "30s"\nallow_hosts = ["API.Example.com"]\nsession_quota = "1MB"\nmax_sessions = 3\n');
    const settings = resolveMcpSettings({ root: 'configured', maxTimeout: '5s', http: '8765' }, server.dir);
    expect(settings.directory).toBe(dir);
    expect(settings.ceilings).toEqual({ compute: 2_000_000_000, ram: 256 * 1024 ** 2, timeout: 5000, allowedHosts: ['api.example.com'], files: true });
    expect(settings.sessions).toMatchObject({ quotaBytes: 1024 ** 2, maxSessions: 3 });
    expect(settings.http).toEqual({ host: '127.0.0.1', port: 8765 });
  });

  it('name the flag or the key that is wrong', () => {
    expect(() => resolveMcpSettings({ maxRam: 'lots' }, server.dir)).toThrow(/^--max-ram: got "lots"; expected a size/);
    expect(() => resolveMcpSettings({ allowHost: ['*.1.2.3.4'] }, server.dir)).toThrow(/^--allow-host: got "\*\.1\.2\.3\.4"/);
    expect(() => resolveMcpSettings({ root: 'missing' }, server.dir)).toThrow(/--root: "missing" is not a directory/);
    const dir = path.join(server.dir, 'bad-toml');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'capsule.toml'), '[mcp]\nmax_sessions = 0\n');
    expect(() => resolveMcpSettings({ root: 'bad-toml' }, server.dir)).toThrow('capsule.toml [mcp] max_sessions: got 0; expected a positive integer');
    writeFileSync(path.join(dir, 'capsule.toml'), '[mcp]\nmax_computer = "LOW"\n');
    expect(() => resolveMcpSettings({ root: 'bad-toml' }, server.dir)).toThrow(/unknown key\(s\) "mcp\.max_computer"/);
  });

  it('listen on loopback only', () => {
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    for (const address of ['0.0.0.0:8765', '192.168.1.5:80', 'example.com:80']) expect(() => parseListenAddress(address)).toThrow(McpSettingsError);
    expect(() => parseListenAddress('127.0.0.1:99999')).toThrow(/expected HOST:PORT/);
  });
});

describe('a call\'s limits', () => {
  const ceilings: Ceilings = { compute: 2_000_000_000, ram: 128 * 1024 ** 2, timeout: 10_000, allowedHosts: ['*.example.com', '127.0.0.1:8080'], files: true };

  it('default to the ceilings, and may ask for less', () => {
    expect(planCall(undefined, ceilings, server.dir)).toEqual({ ok: true, plan: { options: { compute: 2_000_000_000, ram: 128 * 1024 ** 2, timeout: 10_000, allowedHosts: ['*.example.com', '127.0.0.1:8080'] }, mounts: ['.::files:ro'] } });
    expect(planCall({ compute: 'low', ram: '16MB', timeout: 500, allowedHosts: ['api.example.com'], files: ['./data/'] }, ceilings, server.dir)).toEqual({
      ok: true,
      plan: { options: { compute: 100_000_000, ram: 16 * 1024 ** 2, timeout: 500, allowedHosts: ['api.example.com'] }, mounts: ['data::files/data:ro'] },
    });
  });

  it('are refused above a ceiling, invalid when they do not parse', () => {
    expect(planCall({ timeout: '1m', allowedHosts: ['example.com', '127.0.0.1:9090'] }, ceilings, server.dir)).toEqual({
      ok: false,
      errorType: 'permission_denied',
      message: 'limits.timeout: asked for 1m, more than this server allows (10s, --max-timeout); limits.allowedHosts: "example.com" is not a host this server allows (*.example.com, 127.0.0.1:8080); limits.allowedHosts: "127.0.0.1:9090" is not a host this server allows (*.example.com, 127.0.0.1:8080)',
    });
    expect(planCall({ ram: 'plenty' }, ceilings, server.dir)).toMatchObject({ ok: false, errorType: 'invalid_task', message: expect.stringMatching(/^limits\.ram: got "plenty"/) });
    expect(planCall({ files: ['data'] }, { ...ceilings, files: false }, server.dir)).toMatchObject({ ok: false, errorType: 'permission_denied', message: expect.stringMatching(/no host files/) });
    expect(planCall({ files: ['a::b'] }, ceilings, server.dir)).toMatchObject({ ok: false, errorType: 'invalid_task' });
  });
});

describe('sessions', () => {
  it('accept plain names only as ids', () => {
    for (const good of ['a', 'run-42', 'A_b-C']) expect(sessionIdSchema.safeParse(good).success).toBe(true);
    for (const bad of ['', '..', '../x', 'a/b', 'a b', 'é', 'x'.repeat(65), '.hidden']) expect(sessionIdSchema.safeParse(bad).success).toBe(false);
  });

  it('run the calls of one session one at a time, and of different sessions at once', async () => {
    const store = new SessionStore(server.dir, { quotaBytes: 1024, maxEntries: 10, maxSessions: 10 });
    const events: string[] = [];
    const step = (name: string, ms: number) => store.use(name.split(':')[0]!, true, async () => {
      events.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`end ${name}`);
    });
    await Promise.all([step('one:a', 60), step('one:b', 1), step('two:a', 1)]);
    expect(events.indexOf('end one:a')).toBeLessThan(events.indexOf('start one:b'));
    expect(events.indexOf('start two:a')).toBeLessThan(events.indexOf('end one:a'));
  });

  it('keep at most max sessions, and free an id on reset', async () => {
    const dir = path.join(server.dir, 'capped');
    mkdirSync(dir);
    const store = new SessionStore(dir, { quotaBytes: 1024, maxEntries: 10, maxSessions: 2 });
    await store.use('a', true, () => undefined);
    await store.use('b', true, () => undefined);
    await expect(store.use('c', true, () => undefined)).rejects.toThrow(ToolError);
    await expect(store.use('c', true, () => undefined)).rejects.toThrow(/at most 2 sessions/);
    // An existing session is still usable; a reset makes room.
    await store.use('a', true, (session) => expect(session?.mount).toBe('.capsule/sessions/a::workspace:rw'));
    expect(await store.reset('b')).toBe(true);
    expect(await store.reset('b')).toBe(false);
    await store.use('c', true, (session) => expect(session?.id).toBe('c'));
    expect(await store.use('never', false, (session) => session)).toBeUndefined();
  });
});
