/**
 * Workflow code runs in Temporal's deterministic sandbox, bundled by the SDK's webpack: a Node built-in or a runtime
 * import of activity code there fails only at bundle time with a vague message. This keeps src/workflows honest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../src/workflows/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const ALLOWED = [/^\.\/[a-z-]+\.js$/, /^@temporalio\/(workflow|common)$/];

describe('src/workflows imports', () => {
  for (const file of files) {
    it(`${file} imports only workflow-safe modules (type-only imports aside)`, () => {
      const source = readFileSync(`${dir}${file}`, 'utf8');
      for (const match of source.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        const [, typeOnly, specifier] = match;
        if (typeOnly !== undefined) continue;
        expect(specifier!.startsWith('node:') || builtinModules.includes(specifier!), `${file}: ${specifier}`).toBe(false);
        expect(ALLOWED.some((re) => re.test(specifier!)), `${file}: runtime import of ${specifier}`).toBe(true);
      }
    });
  }
});
