/**
 * BundleCache (src/sandbox/bundle-cache.ts): a task file is bundled once and the bundle reused while nothing it was
 * made from changed; an edit to any file it read, a file added where an import could now resolve, or a Python module
 * changed makes the next call bundle again. Files younger than the cache's settling time are never cached.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleCache } from '../../src/sandbox/bundle-cache.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-bundle-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Past the cache's settling time, so what was just written may be kept. */
const settle = () => new Promise((r) => setTimeout(r, 2100));

/** A task returning what './word' exports: which file that import resolves to shows in the bundle. */
const RETURNS_WORD = "import { task } from 'capsule';\nimport { word } from './word';\nexport const main = task({ name: 'main' }, () => word);\n";

function write(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('BundleCache', () => {
  it('reuses a bundle while its files are unchanged, and bundles again after an edit to an imported file', async () => {
    const dir = write(mkdtempSync(path.join(root, 'js-')), {
      'main.ts': RETURNS_WORD,
      'word.ts': "export const word = 'one';\n",
    });
    await settle();
    const cache = new BundleCache();
    const first = await cache.bundle('main.ts', dir);
    expect(await cache.bundle('main.ts', dir)).toBe(first);
    writeFileSync(path.join(dir, 'word.ts'), "export const word = 'two';\n");
    const edited = await cache.bundle('main.ts', dir);
    expect(edited.code).toContain('two');
    expect(edited.sha256).not.toBe(first.sha256);
    // Written just now: returned, not kept (a second edit within the timestamp's resolution would not show).
    writeFileSync(path.join(dir, 'word.ts'), "export const word = 'three';\n");
    expect((await cache.bundle('main.ts', dir)).code).toContain('three');
  });

  it('bundles again when a new file changes what an import resolves to', async () => {
    const dir = write(mkdtempSync(path.join(root, 'resolve-')), {
      'main.ts': RETURNS_WORD,
      'word.js': "export const word = 'from js';\n",
    });
    await settle();
    const cache = new BundleCache();
    expect((await cache.bundle('main.ts', dir)).code).toContain('from js');
    // esbuild prefers .ts to .js for an extensionless import: the new file wins.
    write(dir, { 'word.ts': "export const word = 'from ts';\n" });
    expect((await cache.bundle('main.ts', dir)).code).toContain('from ts');
  });

  it('keeps the name as given apart: the same file under two names is two entries', async () => {
    const dir = write(mkdtempSync(path.join(root, 'names-')), { 'main.ts': "import { task } from 'capsule';\nexport const main = task({ name: 'main' }, () => 1);\n" });
    await settle();
    const cache = new BundleCache();
    const relative = await cache.bundle('main.ts', dir);
    const absolute = await cache.bundle(path.join(dir, 'main.ts'), dir);
    expect(relative.entryFile).toBe('main.ts');
    expect(absolute.entryFile).toBe(path.join(dir, 'main.ts'));
    expect(absolute.sha256).toBe(relative.sha256);
  });

  it('bundles a Python task again when a local module it imports changes or appears', async () => {
    const dir = write(mkdtempSync(path.join(root, 'py-')), {
      'main.py': 'from capsule import task\nimport helper\n\n@task(name="main")\ndef main():\n    return helper.WORD\n',
    });
    await settle();
    const cache = new BundleCache();
    const before = await cache.bundle('main.py', dir);
    expect(before.code).not.toContain('WORD =');
    expect(await cache.bundle('main.py', dir)).toBe(before);
    write(dir, { 'helper.py': 'WORD = "hi"\n' });
    const after = await cache.bundle('main.py', dir);
    expect(after.code).toContain('WORD = \\"hi\\"');
  });
});
