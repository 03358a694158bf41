/** `capsule init`: the project it writes (cli/init-template.ts), its refusals, and examples/own-project kept equal to it. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { init } from '../../src/cli/commands/init.js';
import { projectFiles } from '../../src/cli/init-template.js';
import type { CommandIo } from '../../src/cli/io.js';
import { filesUnder } from '../package/install.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function io(cwd: string): CommandIo & { lines: string[] } {
  const lines: string[] = [];
  return { cwd, out: (t) => lines.push(t), err: (t) => lines.push(t), tty: false, env: {}, lines };
}

describe('capsule init', () => {
  it('writes the project into a new directory: two tasks, a pipeline, a workflow, a host-API script, a README', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-init-'));
    const out = io(root);
    expect(await init({ dir: 'my-agent', io: out })).toBe(0);
    const dir = path.join(root, 'my-agent');
    const expected = projectFiles('my-agent', VERSION);
    expect(filesUnder(dir)).toEqual(Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected)) expect(readFileSync(path.join(dir, name), 'utf8')).toBe(text);
    expect(JSON.parse(expected['package.json']!)).toMatchObject({ name: 'my-agent', dependencies: { capsule: `^${VERSION}` } });
    expect(out.lines.at(-1)).toBe('  npm start');
  });

  it('writes into an empty directory, and refuses a non-empty one or a file without writing anything', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-init-'));
    mkdirSync(path.join(root, 'empty'));
    expect(await init({ dir: 'empty', io: io(root) })).toBe(0);
    mkdirSync(path.join(root, 'taken'));
    writeFileSync(path.join(root, 'taken', 'notes.md'), 'mine\n');
    const refused = io(root);
    expect(await init({ dir: 'taken', io: refused })).toBe(2);
    expect(refused.lines).toEqual(['error: taken: not empty (notes.md); give a new or empty directory']);
    expect(filesUnder(path.join(root, 'taken'))).toEqual(['notes.md']);
    writeFileSync(path.join(root, 'plain'), '');
    const file = io(root);
    expect(await init({ dir: 'plain', io: file })).toBe(2);
    expect(file.lines).toEqual(['error: plain: not a directory']);
  });

  it('keeps examples/own-project equal to what init writes', () => {
    const example = path.join(REPO, 'examples', 'own-project');
    const expected = projectFiles('own-project', VERSION);
    const regenerate = 'regenerate it: rm -rf examples/own-project && node bin/capsule.js init examples/own-project';
    expect(filesUnder(example).filter((name) => !name.startsWith('.capsule/') && !name.startsWith('node_modules/')), regenerate).toEqual(Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected)) expect(readFileSync(path.join(example, name), 'utf8'), `${name}: ${regenerate}`).toBe(text);
  });
});
