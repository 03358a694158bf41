import { existsSync, linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { fixtureBundle, taskDir } from '../helpers.js';

let sandbox: Sandbox;
let dir: ReturnType<typeof taskDir>;
beforeAll(async () => {
  sandbox = await Sandbox.create();
  dir = taskDir();
  symlinkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'data/link-out.txt'));
  symlinkSync(dir.root, path.join(dir.base, 'data/dir-out'));
  symlinkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'out/link-out.txt'));
  writeFileSync(path.join(dir.base, 'data/inside.txt'), 'inside');
  symlinkSync(path.join(dir.base, 'data/inside.txt'), path.join(dir.base, 'data/link-in.txt'));
  linkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'data/hardlink.txt'));
});
afterAll(async () => {
  await sandbox.close();
  dir.cleanup();
});

type Attempt = { ok: true; value: unknown } | { ok: false; code: string; message: string };
const fsOp = async (...args: string[]) => {
  const envelope = await sandbox.run({ bundle: await fixtureBundle('files.ts'), args, baseDir: dir.base });
  expect(envelope.success).toBe(true);
  return { attempt: envelope.result as Attempt, envelope };
};

describe('allowed directories', () => {
  it('reads a file in a read-only directory through the sync, promise and callback APIs', async () => {
    for (const op of ['read', 'read-promise', 'read-callback']) {
      expect((await fsOp(op, './data/input.txt')).attempt).toEqual({ ok: true, value: 'input for the guest' });
    }
    expect((await fsOp('read', 'data/input.txt')).attempt).toEqual({ ok: true, value: 'input for the guest' });
  });

  it('lists, stats and checks existence', async () => {
    expect((await fsOp('readdir', './data')).attempt).toMatchObject({ ok: true, value: expect.arrayContaining(['input.txt', 'inside.txt']) });
    expect((await fsOp('stat', './data/input.txt')).attempt).toEqual({ ok: true, value: { size: 19, file: true, dir: false } });
    expect((await fsOp('exists', './data/input.txt')).attempt).toEqual({ ok: true, value: true });
    expect((await fsOp('exists', './data/nope.txt')).attempt).toEqual({ ok: true, value: false });
    expect((await fsOp('read', './data/nope.txt')).attempt).toMatchObject({ ok: false, code: 'ENOENT' });
  });

  it('refuses a write in a read-only directory, and records it', async () => {
    const { attempt, envelope } = await fsOp('write', './data/new.txt');
    expect(attempt).toMatchObject({ ok: false, code: 'EACCES', message: expect.stringContaining('./data is read-only') });
    expect(existsSync(path.join(dir.base, 'data/new.txt'))).toBe(false);
    expect(envelope.execution.denials).toEqual([{ capability: 'file', target: './data/new.txt', reason: './data is read-only' }]);
  });

  it('writes, appends, makes directories, renames and removes in a read-write directory, landing on the host', async () => {
    expect((await fsOp('write', './out/result.txt', 'first')).attempt).toMatchObject({ ok: true });
    expect((await fsOp('append', './out/result.txt', ' second')).attempt).toMatchObject({ ok: true });
    expect(readFileSync(path.join(dir.base, 'out/result.txt'), 'utf8')).toBe('first second');
    expect((await fsOp('write-bytes', './out/bytes.bin')).attempt).toMatchObject({ ok: true });
    expect([...readFileSync(path.join(dir.base, 'out/bytes.bin'))]).toEqual([0, 1, 2, 255]);
    expect((await fsOp('read-bytes', './out/bytes.bin')).attempt).toEqual({ ok: true, value: [0, 1, 2, 255] });
    expect((await fsOp('mkdir', './out/a/b')).attempt).toMatchObject({ ok: true });
    expect((await fsOp('rename', './out/result.txt', './out/a/b/moved.txt')).attempt).toMatchObject({ ok: true });
    expect(readFileSync(path.join(dir.base, 'out/a/b/moved.txt'), 'utf8')).toBe('first second');
    expect((await fsOp('rm', './out/a')).attempt).toMatchObject({ ok: true });
    expect(existsSync(path.join(dir.base, 'out/a'))).toBe(false);
  });

  it('refuses to remove an allowed directory itself', async () => {
    expect((await fsOp('rm', './out')).attempt).toMatchObject({ ok: false, code: 'EACCES' });
    expect(existsSync(path.join(dir.base, 'out'))).toBe(true);
  });
});

describe('escapes', () => {
  const denied = async (...args: string[]) => {
    const { attempt, envelope } = await fsOp(...args);
    expect(attempt).toMatchObject({ ok: false, code: 'EACCES' });
    expect(envelope.execution.denials.length).toBeGreaterThan(0);
    return (attempt as { message: string }).message;
  };

  it('refuses ../ out of the task directory', async () => {
    expect(await denied('read', '../secret.txt')).toContain('leaves the task directory');
    expect(await denied('read', './data/../../secret.txt')).toContain('leaves the task directory');
  });

  it('refuses ../ out of an allowed directory into a directory that is not allowed', async () => {
    writeFileSync(path.join(dir.base, 'private.txt'), 'not granted');
    expect(await denied('read', './data/../private.txt')).toContain('not inside an allowed directory');
  });

  it('refuses absolute paths, even ones inside an allowed directory', async () => {
    expect(await denied('read', '/etc/passwd')).toContain('absolute paths are not available');
    expect(await denied('read', path.join(dir.base, 'data/input.txt'))).toContain('absolute paths are not available');
  });

  it('refuses symbolic links that point outside, for reads, listings and writes', async () => {
    expect(await denied('read', './data/link-out.txt')).toContain('symbolic link');
    expect(await denied('readdir', './data/dir-out')).toContain('symbolic link');
    expect(await denied('read', './data/dir-out/secret.txt')).toContain('symbolic link');
    expect(await denied('write', './out/link-out.txt', 'overwrite')).toContain('symbolic link');
    expect(readFileSync(path.join(dir.root, 'secret.txt'), 'utf8')).toBe('host secret');
  });

  it('never follows a symbolic link, even one that stays inside the allowed directory', async () => {
    expect(await denied('read', './data/link-in.txt')).toContain('never follows links');
    expect((await fsOp('read', './data/inside.txt')).attempt).toEqual({ ok: true, value: 'inside' });
  });

  it('refuses a hard link that may be a file outside', async () => {
    expect(await denied('read', './data/hardlink.txt')).toContain('hard links');
  });

  it('refuses paths with NUL bytes', async () => {
    expect(await denied('read', './data/input.txt\0.png')).toContain('NUL');
  });

  it('grants nothing to a task that lists no files', async () => {
    const envelope = await sandbox.run({ bundle: await fixtureBundle('files.ts'), task: 'nothing', baseDir: dir.base });
    expect(envelope.result).toMatchObject({ ok: false, code: 'EACCES', message: expect.stringContaining('allowedFiles: none') });
  });

  it('makes an uncaught denial the run\'s permission_denied error', async () => {
    const envelope = await sandbox.run({ bundle: await fixtureBundle('files.ts'), task: 'uncaught', baseDir: dir.base });
    expect(envelope.error?.error_type).toBe('permission_denied');
    expect(envelope.error?.message).toContain('../secret.txt');
  });
});
