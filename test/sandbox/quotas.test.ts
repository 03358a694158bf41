/**
 * Directory quotas: enforced at each write, before it happens, for guests (both languages, sub-tasks on other
 * threads included) and for the host's own access (HostDirectory), through counters they share.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleSource, DirectoryAccessError, DirectoryQuota, HostDirectory, type ProgramLanguage } from '../../src/sandbox/index.js';
import { useSandboxAndDir } from '../helpers.js';

const { sandbox, dir } = useSandboxAndDir();
const LIMITS = { maxBytes: 1000, maxEntries: 6, label: 'the test directory' };
let scratch = '';

beforeEach(() => {
  scratch = mkdtempSync(path.join(dir().base, 'scratch-'));
});

function quota() {
  return DirectoryQuota.measure(scratch, LIMITS);
}

async function run(language: ProgramLanguage, source: string, quotas = [quota()]) {
  const bundle = await bundleSource({ language, source });
  return sandbox().run({ bundle, baseDir: dir().base, mounts: [`${path.basename(scratch)}::work:rw`], quotas, options: { compute: 'MEDIUM', timeout: '30s' } });
}

describe('quotas in the guest', () => {
  it('refuses the write that would go past the byte limit with ENOSPC, writing nothing of it, and lists a denial', async () => {
    const source = `import fs from 'fs';
export function main() {
  fs.writeFileSync('work/a.bin', 'x'.repeat(600));
  try { fs.writeFileSync('work/b.bin', 'y'.repeat(600)); } catch (error) { return { code: error.code, message: error.message }; }
  return 'written';
}`;
    const envelope = await run('javascript', source);
    expect(envelope.result).toMatchObject({ code: 'ENOSPC', message: expect.stringMatching(/the test directory is full: this write needs 600 more bytes and the quota is 1000 bytes/) });
    expect(readdirSync(scratch)).toEqual(['a.bin']);
    expect(envelope.execution.denials).toEqual([{ capability: 'file', target: 'work/b.bin', reason: expect.stringContaining('is full') }]);
  });

  it('gives room back on overwrite and removal, and counts entries', async () => {
    const source = `import fs from 'fs';
export function main() {
  fs.writeFileSync('work/a.bin', 'x'.repeat(900));
  fs.writeFileSync('work/a.bin', 'x'.repeat(100));
  fs.writeFileSync('work/b.bin', 'y'.repeat(800));
  fs.unlinkSync('work/b.bin');
  fs.mkdirSync('work/d');
  fs.writeFileSync('work/d/c.bin', 'z'.repeat(850));
  fs.rmSync('work/d', { recursive: true });
  const made = [];
  try { for (let i = 0; i < 10; i++) { fs.writeFileSync('work/f' + i, ''); made.push(i); } } catch (error) { return { made: made.length, code: error.code }; }
  return 'no limit';
}`;
    const envelope = await run('javascript', source);
    expect(envelope.error).toBeNull();
    // a.bin plus five empty files make six entries.
    expect(envelope.result).toEqual({ made: 5, code: 'ENOSPC' });
  });

  it('counts what the directory already holds', async () => {
    writeFileSync(path.join(scratch, 'old.bin'), Buffer.alloc(700));
    const envelope = await run('python', 'def main():\n    with open("work/new.bin", "wb") as f:\n        f.write(b"x" * 400)\n');
    expect(envelope.error?.error_type).toBe('task_error');
    expect(envelope.error?.message).toMatch(/OSError: \[Errno \d+\] ENOSPC: the test directory is full: this write needs 400 more bytes/);
    // open() made the file (as on a full disk, the open succeeds and the write fails): it stays empty.
    expect(readdirSync(scratch).sort()).toEqual(['new.bin', 'old.bin']);
    expect(statSync(path.join(scratch, 'new.bin')).size).toBe(0);
  });

  it('refuses a rename across the quota edge as EXDEV', async () => {
    const outside = mkdtempSync(path.join(dir().base, 'outside-'));
    const source = `import fs from 'fs';
export function main() {
  fs.writeFileSync('free/a.txt', 'x');
  try { fs.renameSync('free/a.txt', 'work/a.txt'); } catch (error) { return error.code; }
  return 'moved';
}`;
    const bundle = await bundleSource({ language: 'javascript', source });
    const envelope = await sandbox().run({ bundle, baseDir: dir().base, mounts: [`${path.basename(scratch)}::work:rw`, `${path.basename(outside)}::free:rw`], quotas: [quota()], options: {} });
    expect(envelope.result).toBe('EXDEV');
  });

  it('holds across sub-tasks writing at the same time on other threads', async () => {
    const source = `import fs from 'fs';
import { task } from 'capsule';
const writer = task({ name: 'writer' }, (i) => { try { fs.writeFileSync('work/part' + i, 'p'.repeat(400)); return 'ok'; } catch (error) { return error.code; } });
export async function main() {
  const results = await Promise.all([0, 1, 2, 3].map((i) => writer(i)));
  return results.map((r) => r.result).sort();
}`;
    const envelope = await run('javascript', source);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual(['ENOSPC', 'ENOSPC', 'ok', 'ok']);
    expect(readdirSync(scratch)).toHaveLength(2);
  });
});

describe('HostDirectory', () => {
  it('writes, lists, reads and clears through the same quota', () => {
    const q = quota();
    const access = HostDirectory.open(dir().base, path.basename(scratch), { mode: 'read-write', maxReadBytes: 10_000, quota: q });
    try {
      access.write('notes/a.txt', Buffer.from('hello'));
      expect(access.read('notes/a.txt').toString()).toBe('hello');
      expect(access.list()).toEqual({ truncated: false, entries: [{ path: 'notes', type: 'directory', size: 0 }, { path: 'notes/a.txt', type: 'file', size: 5 }] });
      expect(q.used).toEqual({ bytes: 5, entries: 2 });
      expect(() => access.write('big.bin', Buffer.alloc(996))).toThrow(/is full/);
      access.clear();
      expect(readdirSync(scratch)).toEqual([]);
      expect(q.used).toEqual({ bytes: 0, entries: 0 });
    } finally {
      access.close();
    }
  });

  it('replaces a file whole: the inode the name held is never written, and a failed write leaves nothing behind', () => {
    // What a host process racing a hard link in under the name could have made that inode: a file outside the grant.
    // Its link count can drop back to one between any check and the write; the write goes to a new file instead.
    writeFileSync(path.join(scratch, 'a.txt'), 'before');
    const held = openSync(path.join(scratch, 'a.txt'), 'r');
    const access = HostDirectory.open(dir().base, path.basename(scratch), { mode: 'read-write', maxReadBytes: 10_000, quota: quota() });
    try {
      access.write('a.txt', Buffer.from('after'));
      expect(readFileSync(path.join(scratch, 'a.txt'), 'utf8')).toBe('after');
      const old = Buffer.alloc(16);
      expect(old.subarray(0, readSync(held, old, 0, 16, 0)).toString()).toBe('before');
      expect(() => access.write('a.txt', Buffer.alloc(2000))).toThrow(/is full/);
      expect(readFileSync(path.join(scratch, 'a.txt'), 'utf8')).toBe('after');
      expect(readdirSync(scratch)).toEqual(['a.txt']);
    } finally {
      closeSync(held);
      access.close();
    }
  });

  it('refuses paths that leave the directory, absolute paths and links', () => {
    mkdirSync(path.join(scratch, 'sub'));
    symlinkSync('/etc', path.join(scratch, 'link'));
    const access = HostDirectory.open(dir().base, path.basename(scratch), { mode: 'read-write', maxReadBytes: 10_000 });
    try {
      for (const bad of ['../secret.txt', '/etc/passwd', 'sub/../../x', 'link/passwd']) {
        expect(() => access.read(bad), bad).toThrow(DirectoryAccessError);
      }
      expect(() => access.write('link/x', Buffer.from('x'))).toThrow(/symbolic link/);
      expect(() => access.read('missing.txt')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    } finally {
      access.close();
      rmSync(path.join(scratch, 'link'));
    }
  });
});
