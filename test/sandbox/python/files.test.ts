import { existsSync, linkSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/sandbox/index.js';
import { usePythonSandbox } from './python.js';

const py = usePythonSandbox({}, (dir) => {
  symlinkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'data/link-out.txt'));
  symlinkSync(dir.root, path.join(dir.base, 'data/dir-out'));
  symlinkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'out/link-out.txt'));
  writeFileSync(path.join(dir.base, 'data/inside.txt'), 'inside');
  symlinkSync(path.join(dir.base, 'data/inside.txt'), path.join(dir.base, 'data/link-in.txt'));
  linkSync(path.join(dir.root, 'secret.txt'), path.join(dir.base, 'data/hardlink.txt'));
  writeFileSync(path.join(dir.base, 'private.txt'), 'not granted');
});
const host = (relative: string) => path.join(py.dir().base, relative);

type Attempt = { ok: true; value: unknown } | { ok: false; type: string; os_error: boolean; errno: string | null; message: string };
const fsOp = async (op: string, target: string, extra?: string): Promise<{ attempt: Attempt; envelope: Envelope }> => {
  const envelope = await py.run('files.py', 'main', extra === undefined ? [op, target] : [op, target, extra]);
  expect(envelope.error).toBeNull();
  return { attempt: envelope.result as Attempt, envelope };
};
const value = async (op: string, target: string, extra?: string) => {
  const { attempt, envelope } = await fsOp(op, target, extra);
  expect(attempt).toMatchObject({ ok: true });
  expect(envelope.execution.denials).toEqual([]);
  return (attempt as { value: unknown }).value;
};

describe('allowed directories', () => {
  it('reads a file in a read-only directory with open() and pathlib', async () => {
    expect(await value('read', './data/input.txt')).toBe('input for the guest');
    expect(await value('read', 'data/input.txt')).toBe('input for the guest');
    expect(await value('path-read', './data/input.txt')).toBe('input for the guest');
    expect(await value('read-bytes', './data/inside.txt')).toEqual([...Buffer.from('inside')]);
  });

  it('lists, stats and checks existence with os and pathlib', async () => {
    expect(await value('listdir', './data')).toEqual(expect.arrayContaining(['input.txt', 'inside.txt']));
    expect(await value('path-iterdir', './data')).toEqual(expect.arrayContaining(['input.txt', 'inside.txt']));
    expect(await value('stat', './data/input.txt')).toEqual({ size: 19, file: true, dir: false });
    expect(await value('stat', './data')).toEqual({ size: expect.any(Number), file: false, dir: true });
    expect(await value('exists', './data/input.txt')).toBe(true);
    expect(await value('path-exists', './data/input.txt')).toBe(true);
    expect(await value('exists', './data/nope.txt')).toBe(false);
    expect(await value('path-exists', './data/nope.txt')).toBe(false);
    const { attempt } = await fsOp('read', './data/nope.txt');
    expect(attempt).toMatchObject({ ok: false, type: 'FileNotFoundError', os_error: true, errno: 'ENOENT' });
  });

  it('refuses a write in a read-only directory with PermissionError, and records it', async () => {
    // pathlib hands the path on normalised (str(Path("./data/new.txt")) is "data/new.txt"); open() as written.
    for (const [op, recorded] of [['write', './data/new.txt'], ['path-write', 'data/new.txt']] as const) {
      const { attempt, envelope } = await fsOp(op, './data/new.txt');
      expect(attempt).toMatchObject({ ok: false, type: 'PermissionError', os_error: true, errno: 'EACCES' });
      expect((attempt as { message: string }).message).toContain('./data is read-only');
      expect(envelope.execution.denials).toEqual([{ capability: 'file', target: recorded, reason: './data is read-only' }]);
    }
    expect(existsSync(host('data/new.txt'))).toBe(false);
  });

  it('lets the task catch the PermissionError and carry on', async () => {
    const envelope = await py.run('files.py', 'catch');
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ outcome: 'caught PermissionError', after: 'carried on' });
    expect(envelope.execution.denials).toEqual([{ capability: 'file', target: './data/refused.txt', reason: './data is read-only' }]);
    expect(existsSync(host('data/refused.txt'))).toBe(false);
    expect(readFileSync(host('out/after-refusal.txt'), 'utf8')).toBe('carried on');
  });

  it('writes, appends, makes directories, renames and removes in a read-write directory, landing on the host', async () => {
    await value('write', './out/result.txt', 'first');
    await value('append', './out/result.txt', ' second');
    expect(readFileSync(host('out/result.txt'), 'utf8')).toBe('first second');
    expect(await value('read', './out/result.txt')).toBe('first second');
    await value('write-bytes', './out/bytes.bin');
    expect([...readFileSync(host('out/bytes.bin'))]).toEqual([0, 1, 2, 255]);
    expect(await value('read-bytes', './out/bytes.bin')).toEqual([0, 1, 2, 255]);
    await value('path-write', './out/pathlib.txt', 'written by pathlib');
    expect(readFileSync(host('out/pathlib.txt'), 'utf8')).toBe('written by pathlib');
    expect(await value('path-read', './out/pathlib.txt')).toBe('written by pathlib');
    await value('path-mkdir', './out/a/b');
    expect(statSync(host('out/a/b')).isDirectory()).toBe(true);
    expect(await value('path-iterdir', './out')).toEqual(expect.arrayContaining(['a', 'bytes.bin', 'pathlib.txt', 'result.txt']));
    await value('rename', './out/result.txt', './out/a/b/moved.txt');
    expect(readFileSync(host('out/a/b/moved.txt'), 'utf8')).toBe('first second');
    expect(existsSync(host('out/result.txt'))).toBe(false);
    await value('remove', './out/a/b/moved.txt');
    expect(existsSync(host('out/a/b/moved.txt'))).toBe(false);
  });
});

describe('escapes', () => {
  /** The attempt failed with PermissionError inside the guest, and the envelope lists it as a file denial. */
  const denied = async (op: string, target: string, extra?: string) => {
    const { attempt, envelope } = await fsOp(op, target, extra);
    expect(attempt).toMatchObject({ ok: false, type: 'PermissionError', os_error: true, errno: 'EACCES' });
    expect(envelope.execution.denials.length).toBeGreaterThan(0);
    expect(envelope.execution.denials.every((d) => d.capability === 'file')).toBe(true);
    return { message: (attempt as { message: string }).message, denials: envelope.execution.denials };
  };

  it('refuses ../ out of the task directory', async () => {
    const { message, denials } = await denied('read', '../secret.txt');
    expect(message).toContain('leaves the task directory');
    expect(denials).toEqual([{ capability: 'file', target: '../secret.txt', reason: 'the path leaves the task directory' }]);
    expect((await denied('read', './data/../../secret.txt')).message).toContain('leaves the task directory');
    expect((await denied('path-read', '../secret.txt')).message).toContain('leaves the task directory');
  });

  it('refuses ../ out of an allowed directory into a directory that is not allowed', async () => {
    const { message, denials } = await denied('read', './data/../private.txt');
    expect(message).toContain('not inside an allowed directory');
    expect(denials).toEqual([{ capability: 'file', target: './data/../private.txt', reason: expect.stringContaining('not inside an allowed directory') }]);
  });

  it('refuses absolute paths, even ones inside an allowed directory', async () => {
    const { message, denials } = await denied('read', '/etc/passwd');
    expect(message).toContain('absolute paths are not available');
    expect(denials).toEqual([{ capability: 'file', target: '/etc/passwd', reason: expect.stringContaining('absolute paths are not available') }]);
    expect((await denied('read', host('data/input.txt'))).message).toContain('absolute paths are not available');
    expect((await denied('path-read', '/etc/passwd')).message).toContain('absolute paths are not available');
  });

  it('refuses symbolic links that point outside, for reads, listings and writes', async () => {
    const { message, denials } = await denied('read', './data/link-out.txt');
    expect(message).toContain('symbolic link');
    expect(denials).toEqual([{ capability: 'file', target: './data/link-out.txt', reason: expect.stringContaining('never follows links') }]);
    expect((await denied('path-read', './data/link-out.txt')).message).toContain('symbolic link');
    expect((await denied('listdir', './data/dir-out')).message).toContain('symbolic link');
    expect((await denied('read', './data/dir-out/secret.txt')).message).toContain('symbolic link');
    expect((await denied('write', './out/link-out.txt', 'overwrite')).message).toContain('symbolic link');
    expect(readFileSync(path.join(py.dir().root, 'secret.txt'), 'utf8')).toBe('host secret');
  });

  it('never follows a symbolic link, even one that stays inside the allowed directory', async () => {
    expect((await denied('read', './data/link-in.txt')).message).toContain('never follows links');
    expect(await value('read', './data/inside.txt')).toBe('inside');
  });

  it('refuses a hard link that may be a file outside', async () => {
    expect((await denied('read', './data/hardlink.txt')).message).toContain('hard links');
  });

  it('grants nothing to a task that lists no files', async () => {
    const envelope = await py.run('files.py', 'nothing');
    expect(envelope.result).toMatchObject({ ok: false, type: 'PermissionError', errno: 'EACCES', message: expect.stringContaining('not inside an allowed directory') });
    expect(envelope.execution.denials).toEqual([{ capability: 'file', target: './data/input.txt', reason: expect.stringContaining('not inside an allowed directory') }]);
  });

  it('makes an uncaught denial the run\'s permission_denied error', async () => {
    const envelope = await py.run('files.py', 'uncaught');
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('permission_denied');
    expect(envelope.error?.message).toMatch(/^PermissionError: /);
    expect(envelope.error?.message).toContain('../secret.txt');
    expect(envelope.execution.denials).toEqual([{ capability: 'file', target: '../secret.txt', reason: 'the path leaves the task directory' }]);
  });
});
