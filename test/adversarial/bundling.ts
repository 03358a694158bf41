/** Attacks on bundling: the host must never read for the guest (test/adversarial/bundling holds the attack files). */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, bundleTaskFile } from '../../src/sandbox/index.js';
import { repoRoot } from '../helpers.js';
import { type AdversarialContext, HOST_SECRET } from './context.js';

/** Each attack file, what the refusal must name. */
const REFUSED: [file: string, expected: RegExp][] = [
  ['outside.ts', /import "\.\.\/\.\.\/outside\/secret\.txt" is refused: it leaves the task's directory/],
  ['environ.ts', /import "\/proc\/self\/environ" is refused: import attributes \(type: "text"\)/],
  ['environ-plain.ts', /import "\/proc\/self\/environ" is refused: absolute paths are not allowed/],
  ['link-out.ts', /import "\.\/leak\.js" is refused: it leaves the task's directory \(by "\.\.", or a symbolic link pointing out\)/],
  ['fifo.ts', /pipe\.js is not a regular file/],
  ['text-loader.ts', /import "\.\/notes\.txt" is refused: "\.txt" files are not bundled/],
  ['undeclared.ts', /import "left-pad" is refused: "left-pad" is not a declared dependency/],
  ['package-escape.ts', /import "escaping" is refused: it does not resolve to a file inside the "escaping" package's directory/],
  ['package-link.ts', /import "linked" is refused: it does not resolve to a file inside the "linked" package's directory/],
  ['require-absolute.ts', /import "\/etc\/passwd" is refused: absolute paths are not allowed/],
  ['dynamic.ts', /import "\.\.\/\.\.\/outside\/leak\.js" is refused: it leaves the task's directory/],
];

function layOut(root: string): { project: string; tasks: string } {
  const dir = path.join(root, 'bundling');
  const project = path.join(dir, 'proj');
  const tasks = path.join(project, 'tasks');
  const outside = path.join(dir, 'outside');
  mkdirSync(outside, { recursive: true });
  cpSync(path.join(repoRoot, 'test/adversarial/bundling'), tasks, { recursive: true });
  writeFileSync(path.join(outside, 'secret.txt'), HOST_SECRET);
  writeFileSync(path.join(outside, 'leak.js'), `export default ${JSON.stringify(HOST_SECRET)};`);
  writeFileSync(path.join(outside, 'secret.py'), `SECRET = ${JSON.stringify(HOST_SECRET)}\n`);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'proj', dependencies: { escaping: '1', linked: '1', 'declared-ok': '1' } }));
  writeFileSync(path.join(project, 'outside_module.py'), `SECRET = ${JSON.stringify(HOST_SECRET)}\n`);
  const pkg = (name: string, manifest: object, files: Record<string, string>) => {
    const at = path.join(project, 'node_modules', name);
    mkdirSync(at, { recursive: true });
    writeFileSync(path.join(at, 'package.json'), JSON.stringify({ name, ...manifest }));
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(at, file), text);
    return at;
  };
  pkg('left-pad', { main: 'index.js' }, { 'index.js': 'module.exports = "present but not declared";' });
  pkg('escaping', { main: '../../../outside/leak.js' }, {});
  symlinkSync('/proc/self/environ', path.join(pkg('linked', { main: 'index.js' }, {}), 'index.js'));
  pkg('declared-ok', { main: 'index.js' }, { 'index.js': 'module.exports = "ok";' });
  symlinkSync(path.join(outside, 'leak.js'), path.join(tasks, 'leak.js'));
  symlinkSync(path.join(outside, 'secret.py'), path.join(tasks, 'helpers.py'));
  writeFileSync(path.join(tasks, 'notes.txt'), 'notes');
  for (const fifo of ['pipe.js', 'pipe_mod.py', 'tsconfig.json']) execFileSync('mkfifo', [path.join(tasks, fifo)]);
  return { project, tasks };
}

export function defineBundlingAttacks(ctx: AdversarialContext): void {
  describe('bundling reads only what the task owns', () => {
    let layout: { project: string; tasks: string };
    beforeAll(() => {
      ctx.beginClass();
      layout = layOut(ctx.root);
    });
    afterAll(() => ctx.endClass('bundling'));

    it.each(REFUSED)('refuses %s, naming the import and the file that imports it', async (file, expected) => {
      const failure = await bundleTaskFile(path.join(layout.tasks, file)).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(BundleError);
      const message = (failure as BundleError).message;
      expect(message).toMatch(expected);
      expect(message).toContain(`${file}:`);
      expect(message).not.toContain(HOST_SECRET);
    });

    it('still bundles the task\'s own modules, JSON and declared packages, and never reads a FIFO tsconfig.json', async () => {
      const bundle = await bundleTaskFile(path.join(layout.tasks, 'allowed.ts'));
      expect(bundle.code).toContain('text.toUpperCase()');
      expect(bundle.code).toContain('{ greeting: "hello" }');
      expect(bundle.code).toContain('module2.exports = "ok"');
    });

    it('Python: takes no module that is a link out, a FIFO, or above the task\'s directory', async () => {
      for (const file of ['linked_module.py', 'fifo_module.py', 'parent_import.py']) {
        const bundle = await bundleTaskFile(path.join(layout.tasks, file));
        expect(bundle.code).not.toContain(HOST_SECRET);
        expect(Object.keys((JSON.parse(bundle.code) as { files: object }).files)).toEqual([file]);
      }
      const envelope = await ctx.sandbox.run({ bundle: await bundleTaskFile(path.join(layout.tasks, 'linked_module.py')), baseDir: layout.project });
      ctx.expectComplete(envelope);
      expect(envelope.error).toEqual({ error_type: 'invalid_task', message: expect.stringContaining('module "helpers" is not available') });
    });

    it('the CLI answers an import of /proc/self/environ with invalid_task naming the import, and leaks no environment', async () => {
      const marker = 'CAPSULE_ADVERSARIAL_MARKER_93d1';
      process.env[marker] = marker;
      try {
        const result = await ctx.cli(['exec', 'tasks/environ.ts', '--json'], layout.project);
        expect(result.code).toBe(2);
        const envelope = JSON.parse(result.stdout) as { error: { error_type: string; message: string } };
        expect(envelope.error.error_type).toBe('invalid_task');
        expect(envelope.error.message).toContain('import "/proc/self/environ" is refused');
        expect(result.stdout + result.stderr).not.toContain(marker);
      } finally {
        delete process.env[marker];
      }
    });
  });
}
