/**
 * Fuel metering's cost: the same CPU-bound guest on the metered main module and on the same module built without
 * the counter (the runtime build writes both). Runs on this thread with inert capabilities: it measures guest
 * execution only, which is what metering changes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildImports, inertScope } from '../src/sandbox/host/imports.js';
import { FUEL_GLOBAL, MAIN_CORE_MODULE, MEMORY_IMPORT, UNMETERED_CORE_MODULE } from '../src/sandbox/runtime/manifest.js';
import type { Runtime } from '../src/sandbox/runtime/runtime.js';
import { median } from './stats.js';

type Glue = {
  instantiate(get: (n: string) => WebAssembly.Module, imports: unknown, core: (m: WebAssembly.Module, i: WebAssembly.Imports) => WebAssembly.Instance): Promise<{ run(s: string, r: string): string }>;
};

export async function measureMetering(runtime: Runtime, source: string, rounds: number): Promise<{ meteredMs: number; unmeteredMs: number }> {
  const glue = (await import(pathToFileURL(path.join(runtime.dir, 'runner.mjs')).href)) as Glue;
  const unmetered = await WebAssembly.compile(readFileSync(path.join(runtime.dir, UNMETERED_CORE_MODULE)));
  const timeOne = async (main: WebAssembly.Module) => {
    const memory = new WebAssembly.Memory({ initial: runtime.manifest.initialMemoryPages, maximum: 16384 });
    const imports = buildImports(inertScope());
    let core: WebAssembly.Instance | undefined;
    const instance = await glue.instantiate((n) => (n === MAIN_CORE_MODULE ? main : runtime.modules[n]!), imports, (m, i) => {
      if (m !== main) return new WebAssembly.Instance(m, i);
      core = new WebAssembly.Instance(m, { ...i, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
      return core;
    });
    (core!.exports[FUEL_GLOBAL] as WebAssembly.Global).value = 1n << 62n;
    const request = JSON.stringify({ mode: 'run', task: 'cpu', args: [2_000_000], env: {} });
    const started = performance.now();
    instance.run(source, request);
    return performance.now() - started;
  };
  const metered: number[] = [];
  const plain: number[] = [];
  // Interleaved, after a warm-up of each (V8 optimises the interpreter's huge functions in the background, later
  // for the bigger metered module), so drift on a shared machine hits both sides alike.
  for (let i = 0; i < 3; i++) {
    await timeOne(runtime.modules[MAIN_CORE_MODULE]!);
    await timeOne(unmetered);
  }
  for (let i = 0; i < rounds; i++) {
    metered.push(await timeOne(runtime.modules[MAIN_CORE_MODULE]!));
    plain.push(await timeOne(unmetered));
  }
  return { meteredMs: median(metered), unmeteredMs: median(plain) };
}
