/**
 * Excluded paths: a read-only grant of a whole directory that holds Capsule's state (.capsule) does not reach into
 * it, while a read-write grant of a directory inside it (a session) keeps its own mode.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleSource, type ProgramLanguage } from '../../src/sandbox/index.js';
import { useSandboxAndDir } from '../helpers.js';

const { sandbox, dir } = useSandboxAndDir();

beforeAll(() => {
  const base = dir().base;
  mkdirSync(path.join(base, '.capsule/sessions/s1'), { recursive: true });
  writeFileSync(path.join(base, '.capsule/state.db'), 'private');
  writeFileSync(path.join(base, '.capsule/sessions/s1/kept.txt'), 'from the last call');
  writeFileSync(path.join(base, 'top.txt'), 'top level');
});

async function run(language: ProgramLanguage, source: string) {
  const bundle = await bundleSource({ language, source });
  return sandbox().run({
    bundle,
    baseDir: dir().base,
    mounts: ['.::files:ro', '.capsule/sessions/s1::workspace:rw'],
    excludedPaths: ['.capsule'],
    withoutMain: 'script',
    options: {},
  });
}

describe('excluded paths', () => {
  it('leave Capsule state out of a whole-directory grant, and the session inside it writable', async () => {
    const source = `import fs from 'fs';
const attempt = (f) => { try { return f(); } catch (error) { return error.code; } };
export function main() {
  fs.writeFileSync('workspace/new.txt', 'written');
  return {
    listing: fs.readdirSync('files').sort(),
    top: fs.readFileSync('files/top.txt', 'utf8'),
    kept: fs.readFileSync('workspace/kept.txt', 'utf8'),
    state: attempt(() => fs.readFileSync('files/.capsule/state.db', 'utf8')),
    session: attempt(() => fs.readFileSync('files/.capsule/sessions/s1/kept.txt', 'utf8')),
    write: attempt(() => fs.writeFileSync('files/top.txt', 'x')),
  };
}`;
    const envelope = await run('javascript', source);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ listing: ['data', 'out', 'top.txt'], top: 'top level', kept: 'from the last call', state: 'EACCES', session: 'EACCES', write: 'EACCES' });
    expect(readFileSync(path.join(dir().base, '.capsule/sessions/s1/new.txt'), 'utf8')).toBe('written');
    expect(envelope.execution.denials.map((d) => d.reason)).toContain('./files/.capsule/state.db is not available in the sandbox');
  });

  it('hold for Python too', async () => {
    const source = 'import os\nprint(sorted(os.listdir("files")))\ntry:\n    open("files/.capsule/state.db").read()\nexcept PermissionError:\n    print("refused")\n';
    const envelope = await run('python', source);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toBe("['data', 'out', 'top.txt']\nrefused\n");
  });
});
