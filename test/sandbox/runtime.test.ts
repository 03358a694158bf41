/** The built runtimes themselves: every core module with code is metered, and the heap is the capped import. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleShape } from '../../src/sandbox/runtime/instrument.js';
import { FUEL_IMPORT, LANGUAGES, MEMORY_IMPORT } from '../../src/sandbox/runtime/manifest.js';
import { loadRuntime } from '../../src/sandbox/runtime/runtime.js';

describe.each(LANGUAGES)('the %s runtime', (language) => {
  it('imports the fuel counter in every core module that has code, and the memory in exactly one', async () => {
    const runtime = await loadRuntime(language);
    const importsOf = (name: string) => WebAssembly.Module.imports(runtime.modules[name]!);
    let withCode = 0;
    for (const name of runtime.manifest.coreModules) {
      const imports = importsOf(name);
      const importsFuel = imports.some((i) => i.module === FUEL_IMPORT.module && i.name === FUEL_IMPORT.name && i.kind === 'global');
      // Module shapes are read from the built files: a module with functions of its own must count fuel.
      const { functions } = moduleShape(readFileSync(path.join(runtime.dir, name)));
      if (functions > 0) withCode++;
      expect(importsFuel, name).toBe(functions > 0);
      expect(runtime.manifest.meteredModules.includes(name), name).toBe(functions > 0);
    }
    expect(withCode).toBeGreaterThan(language === 'python' ? 10 : 1);
    const memoryImporters = runtime.manifest.coreModules.filter((name) =>
      importsOf(name).some((i) => i.module === MEMORY_IMPORT.module && i.name === MEMORY_IMPORT.name && i.kind === 'memory'),
    );
    expect(memoryImporters).toEqual([runtime.manifest.memoryModule]);
  });
});
