/**
 * Fuel metering's cost: the same CPU-bound guest on the metered core modules and on the same modules built without
 * the counter (the runtime build writes both for JavaScript). Runs on this thread with inert capabilities: it measures guest
 * execution only, which is what metering changes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildImports, inertScope } from '../src/sandbox/host/imports.js';
import { FUEL_IMPORT, MEMORY_IMPORT, unmeteredName } from '../src/sandbox/runtime/manifest.js';
import type { Runtime } from '../src/sandbox/runtime/runtime.js';
import { median } from './stats.js';

type Glue = {
  instantiate(get: (n: string) => WebAssembly.Module, imports: unknown, core: (m: WebAssembly.Module, i: WebAssembly.Imports) => WebAssembly.Instance): Promise<{ run(s: string, r: string): Uint8Array }>;
};

export async function measureMetering(runtime: Runtime, source: string, rounds: number, { task = 'cpu', n = 2_000_000 } = {}): Promise<{ meteredMs: number; unmeteredMs: number }> {
  const glue = (await import(pathToFileURL(path.join(runtime.dir, 'runner.mjs')).href)) as Glue;
  const unmetered: Record<string, WebAssembly.Module> = { ...runtime.modules };
  for (const name of runtime.manifest.meteredModules) unmetered[name] = await WebAssembly.compile(readFileSync(path.join(runtime.dir, unmeteredName(name))));
  const timeOne = async (modules: Record<string, WebAssembly.Module>) => {
    const memory = new WebAssembly.Memory({ initial: runtime.manifest.initialMemoryPages, maximum: 16384 });
    const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, 1n << 62n);
    const limits = { [FUEL_IMPORT.name]: fuel, [MEMORY_IMPORT.name]: memory };
    const imports = buildImports(inertScope());
    const instance = await glue.instantiate((n) => modules[n]!, imports, (m, i) => new WebAssembly.Instance(m, { ...i, [FUEL_IMPORT.module]: limits }));
    const request = JSON.stringify({ mode: 'run', task, args: [n], env: {}, unsetEnv: [] });
    const started = performance.now();
    instance.run(source, request);
    return performance.now() - started;
  };
  const metered: number[] = [];
  const plain: number[] = [];
  // Interleaved, after a warm-up of each (V8 optimises the interpreter's huge functions in the background, later
  // for the bigger metered module), so drift on a shared machine hits both sides alike.
  for (let i = 0; i < 3; i++) {
    await timeOne(runtime.modules);
    await timeOne(unmetered);
  }
  for (let i = 0; i < rounds; i++) {
    metered.push(await timeOne(runtime.modules));
    plain.push(await timeOne(unmetered));
  }
  return { meteredMs: median(metered), unmeteredMs: median(plain) };
}
