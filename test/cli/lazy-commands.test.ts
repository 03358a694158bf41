import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs `capsule <args>` through main() in a fresh process and lists every module it loaded: CommonJS packages
 * (the Temporal SDK, esbuild, binaryen) from require's cache, and the project's own TypeScript modules through a
 * resolve hook.
 */
function loadedBy(args: string[]): string[] {
  return loadedWhile(`const { main } = await import('./src/cli/main.ts');\n    await main(['node', 'capsule', ...${JSON.stringify(args)}]);`);
}

/** Every module loaded while `code` (module code, in the repository's root) runs. */
function loadedWhile(code: string): string[] {
  const script = `
    import { createRequire, register } from 'node:module';
    const seen = [];
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (url) => seen.push(url));
    port1.unref();
    register('data:text/javascript,' + encodeURIComponent(
      'let port; export function initialize(data) { port = data.port; } ' +
      'export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }'
    ), { data: { port: port2 }, transferList: [port2] });
    ${code}
    await new Promise((r) => setTimeout(r, 100));
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    process.stderr.write('\\nLOADED ' + JSON.stringify([...seen, ...cjs]) + '\\n');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const line = child.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  if (line === undefined) throw new Error(`no module list (exit ${child.status}): ${child.stderr}`);
  return JSON.parse(line.slice('LOADED '.length)) as string[];
}

describe('commands load lazily', () => {
  it('capsule --help loads neither the Temporal SDK nor the sandbox', () => {
    const loaded = loadedBy(['--help']);
    expect(loaded.some((m) => m.includes('/src/cli/main.ts'))).toBe(true);
    expect(loaded.filter((m) => m.includes('@temporalio'))).toEqual([]);
    // Error classes are the exit-code table's (src/*/errors.ts, a few lines each); esbuild is tsx's own.
    const sandbox = loaded.filter((m) => (m.includes('/src/sandbox/') && !m.endsWith('/errors.ts')) || m.includes('binaryen') || m.includes('@bytecodealliance'));
    expect(sandbox).toEqual([]);
    expect(loaded.filter((m) => m.includes('/src/cli/commands/'))).toEqual([]);
  });

  it('capsule exec loads neither the sandbox nor a validation library until it runs a task itself', () => {
    // What a warm `capsule exec` loads to reach the exec server: the command and its client, nothing heavy.
    const loaded = loadedWhile("await import('./src/cli/commands/exec.ts');");
    expect(loaded.some((m) => m.includes('/src/cli/exec/client.ts'))).toBe(true);
    // (esbuild is loaded here by tsx itself, so it is not looked for.)
    const heavy = loaded.filter((m) => /\/src\/sandbox\/(?!task-language|bounded-json|errors)|\/node_modules\/(zod|@temporalio|@bytecodealliance|binaryen)\//.test(m));
    expect(heavy).toEqual([]);
  });

  it('a command loads its own module when it runs', () => {
    const loaded = loadedBy(['setup', '--help']);
    expect(loaded.filter((m) => m.includes('/src/cli/commands/'))).toEqual([]);
    expect(loadedBy(['exec', '/nonexistent.ts']).some((m) => m.includes('/src/cli/commands/exec.ts'))).toBe(true);
  });
});
