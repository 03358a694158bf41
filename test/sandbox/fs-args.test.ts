/** The guest's file-call arguments, checked in the sandbox thread without zod (host/fs-args.ts). */
import { describe, expect, it } from 'vitest';
import { readFsArgs } from '../../src/sandbox/host/fs-args.js';
import { FsBridge } from '../../src/sandbox/host/fs-bridge.js';
import { GrantedFs } from '../../src/sandbox/host/granted-fs.js';
import { FilePolicy } from '../../src/sandbox/policy/file-policy.js';

describe('file-call arguments from the guest', () => {
  it('keeps the listed keys with their types and drops the others', () => {
    expect(readFsArgs('writeFile', { path: 'a.txt', data: 'x', encoding: 'base64', extra: 1 })).toEqual({ ok: true, args: { path: 'a.txt', data: 'x', encoding: 'base64' } });
    expect(readFsArgs('rm', { path: 'd', recursive: true })).toEqual({ ok: true, args: { path: 'd', recursive: true } });
    expect(readFsArgs('rename', { from: 'a', to: 'b' })).toEqual({ ok: true, args: { from: 'a', to: 'b' } });
  });

  it('names the field and what was expected', () => {
    expect(readFsArgs('readFile', { path: 1 })).toEqual({ ok: false, field: 'path', message: 'expected a string, received number' });
    expect(readFsArgs('readFile', { path: 'a', encoding: 'latin1' })).toEqual({ ok: false, field: 'encoding', message: 'expected "utf8" or "base64"' });
    expect(readFsArgs('mkdir', { path: 'a', recursive: 'yes' })).toEqual({ ok: false, field: 'recursive', message: 'expected a boolean, received string' });
    expect(readFsArgs('writeFile', { path: 'a' })).toEqual({ ok: false, field: 'data', message: 'required' });
    expect(readFsArgs('rename', { from: 'a', to: 'x'.repeat(4097) })).toEqual({ ok: false, field: 'to', message: 'at most 4096 characters' });
    expect(readFsArgs('stat', ['a'])).toEqual({ ok: false, field: '', message: 'expected an object, received an array' });
    // An inherited key is not an argument.
    expect(readFsArgs('stat', Object.create({ path: 'a' }))).toEqual({ ok: false, field: 'path', message: 'required' });
  });

  it('turns bad arguments and unknown operations into the guest\'s EINVAL and ENOSYS, touching nothing', () => {
    const denials: unknown[] = [];
    const bridge = new FsBridge(new FilePolicy([]), GrantedFs.NONE, (d) => denials.push(d));
    expect(JSON.parse(bridge.call('readFile', '{"path": 7}'))).toMatchObject({ error: { code: 'EINVAL', message: expect.stringContaining('fs.readFile: path: expected a string') } });
    expect(JSON.parse(bridge.call('chmod', '{"path": "a"}'))).toMatchObject({ error: { code: 'ENOSYS' } });
    expect(JSON.parse(bridge.call('stat', 'not json'))).toMatchObject({ error: { code: 'EINVAL' } });
    expect(denials).toEqual([]);
  });
});
