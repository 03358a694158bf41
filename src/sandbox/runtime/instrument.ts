/**
 * Rewrites the runner's main core module once, at build time, so that every run can be limited by the host:
 * - Fuel: binaryen's `log-execution` pass puts a call at every function entry, loop header and return; the call
 *   is redirected to an internal function that decrements an exported mutable i64 global and traps below zero.
 *   After inlining, this costs ~5% (see docs/benchmarks.md) and counts deterministically.
 * - Memory: the module's own memory becomes an import, so each run supplies a `WebAssembly.Memory` whose
 *   `maximum` is the task's `ram`. V8's worker resourceLimits do not cover wasm memory; this does.
 */
import binaryen from 'binaryen';
import { FUEL_GLOBAL, MEMORY_IMPORT } from './manifest.js';

export interface InstrumentedModule {
  bytes: Uint8Array;
  /** The memory's declared initial size in 64 KiB pages: the floor of any run's memory. */
  initialPages: number;
}

/**
 * `meterFuel: false` makes the same module without the fuel counter: only the benchmark uses it, to measure what
 * metering costs.
 */
export function instrumentCoreModule(original: Uint8Array, { meterFuel = true } = {}): InstrumentedModule {
  const mod = binaryen.readBinary(original);
  try {
    // Keep the features the module already uses; enabling "all" makes V8 in Node 20 reject the output.
    mod.setFeatures(mod.getFeatures());
    const memory = mod.getMemoryInfo('0');
    mod.addMemoryImport('0', MEMORY_IMPORT.module, MEMORY_IMPORT.name);
    if (!meterFuel) {
      mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(0x7fffffffffffffffn));
      mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
      return { bytes: mod.emitBinary(), initialPages: memory.initial };
    }
    mod.runPasses(['log-execution']);
    const counterImport = findFunctionImport(mod, 'log_execution');
    mod.removeFunction(counterImport);
    mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(0x7fffffffffffffffn));
    const fuel = () => mod.global.get(FUEL_GLOBAL, binaryen.i64);
    mod.addFunction(
      counterImport,
      binaryen.createType([binaryen.i32]),
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(FUEL_GLOBAL, mod.i64.sub(fuel(), mod.i64.const(1n))),
        mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable()),
      ]),
    );
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
    mod.runPasses(['inlining']);
    if (!mod.validate()) throw new Error('the instrumented runner module does not validate');
    return { bytes: mod.emitBinary(), initialPages: memory.initial };
  } finally {
    mod.dispose();
  }
}

function findFunctionImport(mod: binaryen.Module, base: string): string {
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.base === base) return info.name;
  }
  throw new Error(`binaryen's log-execution pass added no "${base}" import`);
}
