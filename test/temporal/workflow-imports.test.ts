/**
 * Workflow code runs in Temporal's deterministic sandbox, bundled by the SDK's webpack: a Node built-in or a runtime
 * import of activity code there fails only at bundle time with a vague message. This keeps src/workflows honest,
 * and every project module it reaches by value (the contract's schemas, units, errors) with it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const dir = path.join(src, 'workflows');
/** Packages workflow code may load: the SDK's workflow-side modules, and zod (pure, deterministic) for the contract. */
const PACKAGES = ['@temporalio/workflow', '@temporalio/common', 'zod'];

/** Value imports of a module (type-only imports are erased from the bundle). */
function valueImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/^(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

/** Every project module src/workflows reaches through value imports, with the imports of each. */
function reachable(): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const imports = valueImports(file);
    seen.set(file, imports);
    for (const specifier of imports) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts'));
      expect(existsSync(target), `${path.relative(src, file)}: ${specifier} is not a project module`).toBe(true);
      visit(target);
    }
  };
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) visit(path.join(dir, name));
  return seen;
}

describe('src/workflows imports', () => {
  const modules = reachable();
  for (const [file, imports] of modules) {
    it(`${path.relative(src, file)} imports only workflow-safe modules (type-only imports aside)`, () => {
      for (const specifier of imports) {
        expect(specifier.startsWith('node:') || builtinModules.includes(specifier), `${file}: ${specifier}`).toBe(false);
        if (!specifier.startsWith('.')) expect(PACKAGES, `${file}: runtime import of ${specifier}`).toContain(specifier);
      }
    });
  }

  it('reaches no sandbox, activity, client or payload code', () => {
    const outside = [...modules.keys()].map((file) => path.relative(src, file)).filter((file) => !file.startsWith('workflows/'));
    expect(outside.sort()).toEqual(['config/units.ts', 'errors.ts', 'sandbox/envelope.ts', 'zod-issue.ts']);
  });
});
