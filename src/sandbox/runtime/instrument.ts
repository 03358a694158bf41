/**
 * Rewrites a runner's core modules once, at build time, so that every run can be limited by the host:
 * - Fuel: a counter (an imported mutable i64 global, decremented, trapping below zero) at the head of every loop and
 *   at the entry of every function that calls another function. That bounds all execution — a run can only go on
 *   through loops or through calls — while leaving out functions that are straight-line code (bounded by whoever
 *   called them) and the return sites. Counting is static, so the same code and input use the same fuel. The
 *   counter is written inline at each site: binaryen's `log-execution` pass calls a counter function instead, and
 *   its inliner leaves many of those calls in the interpreter's huge functions (metering cost ~35 % that way, ~5 %
 *   this way; docs/benchmarks.md). Every module with code of its own is metered against the same imported global:
 *   a component is several core modules (CPython's is fourteen), and a loop in any of them must spend the run's fuel.
 *   Bulk memory operations (memory.copy, memory.fill, memory.init) do work in proportion to their length in one
 *   instruction: each is charged one unit per BULK_BYTES_PER_FUEL bytes before it runs (its length passes through a
 *   small counting function, so operands are evaluated in their original order). Table bulk operations do not occur
 *   in the runners (scan() refuses any expression kind it does not know).
 * - Memory: the memory-owning module's memory becomes an import, so each run supplies a `WebAssembly.Memory` whose
 *   `maximum` is the task's `ram`. V8's worker resourceLimits do not cover wasm memory; this does.
 */
import binaryen from 'binaryen';
import { FUEL_IMPORT, MEMORY_IMPORT } from './manifest.js';

export interface InstrumentedModule {
  bytes: Uint8Array;
  /** With `importMemory`: the memory's declared initial size in 64 KiB pages, the floor of any run's memory. */
  initialPages: number | null;
}

export interface ModuleShape {
  /** Defined (not imported) functions. */
  functions: number;
  /** Initial pages of the memory the module defines itself, if any. */
  ownMemoryPages: number | null;
}

const FUEL = 'capsule$fuel';
const CHARGE_BULK = 'capsule$charge_bulk';
/**
 * Bytes of a bulk memory operation per fuel unit, as a power of two. 16 bytes per unit keeps fuel roughly in step
 * with time: ordinary guest code burns about 4e8 units per second here, a memory.fill moves about 1e10 bytes.
 */
export const BULK_BYTES_PER_FUEL_SHIFT = 4n;

/**
 * Features to validate with: the ones V8 in Node 20 runs (extended-const behind a flag, see runtime.ts). Modules
 * without a target_features section (CPython's) read as MVP and would not validate; enabling "all" instead makes
 * binaryen write encodings (GC type sections) that Node 20 rejects. Mutable globals are also how the shared fuel
 * counter is imported.
 */
const V8_FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.SIMD128 |
  binaryen.Features.ExtendedConst |
  binaryen.Features.TailCall;

/** What the build needs to decide how to instrument a module: does it have code, does it own a memory. */
export function moduleShape(bytes: Uint8Array): ModuleShape {
  const mod = binaryen.readBinary(bytes);
  try {
    let functions = 0;
    for (let i = 0; i < mod.getNumFunctions(); i++) if (binaryen.getFunctionInfo(mod.getFunctionByIndex(i)).module === '') functions++;
    // The heap is reached through an export (the other modules import it), so only exported memories count.
    let ownMemoryPages: number | null = null;
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      if (info.kind !== binaryen.ExternalMemory) continue;
      const memory = mod.getMemoryInfo(info.value);
      if (memory.module === '') ownMemoryPages = memory.initial;
    }
    return { functions, ownMemoryPages };
  } finally {
    mod.dispose();
  }
}

type Info = Record<string, unknown>;

// binaryen.js has these expression and function wrappers at run time; its typings don't declare them.
const { Loop, Function: Func } = binaryen as unknown as {
  Loop: { getBody(loop: number): number; setBody(loop: number, body: number): void };
  Function: { setBody(func: number, body: number): void };
};

/** Child expressions of each kind the module uses, by the field names binaryen.js reports them under. */
const CHILDREN: Record<number, string[]> = {
  [binaryen.BlockId]: ['children'],
  [binaryen.IfId]: ['condition', 'ifTrue', 'ifFalse'],
  [binaryen.LoopId]: ['body'],
  [binaryen.BreakId]: ['condition', 'value'],
  [binaryen.SwitchId]: ['condition', 'value'],
  [binaryen.CallId]: ['operands'],
  [binaryen.CallIndirectId]: ['target', 'operands'],
  [binaryen.LocalGetId]: [],
  [binaryen.LocalSetId]: ['value'],
  [binaryen.GlobalGetId]: [],
  [binaryen.GlobalSetId]: ['value'],
  [binaryen.LoadId]: ['ptr'],
  [binaryen.StoreId]: ['ptr', 'value'],
  [binaryen.ConstId]: [],
  [binaryen.UnaryId]: ['value'],
  [binaryen.BinaryId]: ['left', 'right'],
  [binaryen.SelectId]: ['ifTrue', 'ifFalse', 'condition'],
  [binaryen.DropId]: ['value'],
  [binaryen.ReturnId]: ['value'],
  [binaryen.MemorySizeId]: [],
  [binaryen.MemoryGrowId]: ['delta'],
  [binaryen.NopId]: [],
  [binaryen.UnreachableId]: [],
  [binaryen.MemoryInitId]: ['dest', 'offset', 'size'],
  [binaryen.DataDropId]: [],
  [binaryen.MemoryCopyId]: ['dest', 'source', 'size'],
  [binaryen.MemoryFillId]: ['dest', 'value', 'size'],
  [binaryen.RefNullId]: [],
  [binaryen.RefIsNullId]: ['value'],
  [binaryen.RefFuncId]: [],
  [binaryen.RefEqId]: ['left', 'right'],
  [binaryen.TableGetId]: ['index'],
  [binaryen.TableSetId]: ['index', 'value'],
  [binaryen.TableSizeId]: [],
  [binaryen.TableGrowId]: ['value', 'delta'],
  [binaryen.TupleMakeId]: ['operands'],
  [binaryen.TupleExtractId]: ['tuple'],
  [binaryen.PopId]: [],
};
const CALLS = new Set<number>([binaryen.CallId, binaryen.CallIndirectId]);
const BULK = new Set<number>([binaryen.MemoryCopyId, binaryen.MemoryFillId, binaryen.MemoryInitId]);

// The size operand of each bulk memory operation (binaryen.js has these accessors; its typings don't declare them).
const sizeOf = binaryen as unknown as Record<'MemoryCopy' | 'MemoryFill' | 'MemoryInit', { getSize(e: number): number; setSize(e: number, size: number): void }>;
const BULK_ACCESSORS: Record<number, (typeof sizeOf)['MemoryCopy']> = {
  [binaryen.MemoryCopyId]: sizeOf.MemoryCopy,
  [binaryen.MemoryFillId]: sizeOf.MemoryFill,
  [binaryen.MemoryInitId]: sizeOf.MemoryInit,
};

/** Loops, bulk memory operations, and whether the body calls anything. Iterative: bodies nest thousands deep. */
function scan(body: binaryen.ExpressionRef): { loops: binaryen.ExpressionRef[]; bulk: binaryen.ExpressionRef[]; calls: boolean } {
  const loops: binaryen.ExpressionRef[] = [];
  const bulk: binaryen.ExpressionRef[] = [];
  let calls = false;
  const stack = [body];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    const id = binaryen.getExpressionId(expr);
    const fields = CHILDREN[id];
    if (fields === undefined) throw new Error(`fuel instrumentation does not know expression kind ${id}: the toolchain changed`);
    if (id === binaryen.LoopId) loops.push(expr);
    if (BULK.has(id)) bulk.push(expr);
    if (CALLS.has(id)) calls = true;
    if (fields.length === 0) continue;
    const info = binaryen.getExpressionInfo(expr) as unknown as Info;
    for (const field of fields) {
      const child = info[field];
      if (Array.isArray(child)) stack.push(...(child as number[]));
      else if (typeof child === 'number' && child !== 0) stack.push(child);
    }
  }
  return { loops, bulk, calls };
}

/**
 * `meterFuel: false` makes the same module without the fuel counter (it still imports the global, so both load the
 * same way): only the benchmark uses it, to measure what metering costs.
 */
export function instrumentCoreModule(original: Uint8Array, { meterFuel = true, importMemory = false } = {}): InstrumentedModule {
  const mod = binaryen.readBinary(original);
  try {
    mod.setFeatures(mod.getFeatures() | V8_FEATURES);
    let initialPages: number | null = null;
    if (importMemory) {
      const name = exportedMemoryName(mod);
      initialPages = mod.getMemoryInfo(name).initial;
      mod.addMemoryImport(name, MEMORY_IMPORT.module, MEMORY_IMPORT.name);
    }
    mod.addGlobalImport(FUEL, FUEL_IMPORT.module, FUEL_IMPORT.name, binaryen.i64, true);
    if (meterFuel) {
      const fuel = () => mod.global.get(FUEL, binaryen.i64);
      // A fresh tree per site: binaryen expressions must not be shared between parents.
      const charge = () =>
        mod.block(null, [
          mod.global.set(FUEL, mod.i64.sub(fuel(), mod.i64.const(1n))),
          mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable()),
        ]);
      const functions = mod.getNumFunctions();
      // charge_bulk(n): spends n >> SHIFT units (trapping below zero) and returns n, the operation's length.
      mod.addFunction(CHARGE_BULK, binaryen.i32, binaryen.i32, [], mod.block(null, [
        mod.global.set(FUEL, mod.i64.sub(fuel(), mod.i64.shr_u(mod.i64.extend_u(mod.local.get(0, binaryen.i32)), mod.i64.const(BULK_BYTES_PER_FUEL_SHIFT)))),
        mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable()),
        mod.local.get(0, binaryen.i32),
      ], binaryen.i32));
      for (let i = 0; i < functions; i++) {
        const func = mod.getFunctionByIndex(i);
        const info = binaryen.getFunctionInfo(func);
        if (info.module !== '' || info.body === 0) continue; // an import
        const { loops, bulk, calls } = scan(info.body);
        for (const loop of loops) {
          const body = Loop.getBody(loop);
          Loop.setBody(loop, mod.block(null, [charge(), body], binaryen.getExpressionType(body)));
        }
        for (const op of bulk) {
          const accessor = BULK_ACCESSORS[binaryen.getExpressionId(op)]!;
          const size = accessor.getSize(op);
          if (binaryen.getExpressionType(size) !== binaryen.i32) throw new Error('fuel instrumentation expects 32-bit bulk memory lengths: the toolchain changed');
          accessor.setSize(op, mod.call(CHARGE_BULK, [size], binaryen.i32));
        }
        if (calls) Func.setBody(func, mod.block(null, [charge(), info.body], binaryen.getExpressionType(info.body)));
      }
    }
    if (!mod.validate()) throw new Error('the instrumented runner module does not validate');
    return { bytes: mod.emitBinary(), initialPages };
  } finally {
    mod.dispose();
  }
}

function exportedMemoryName(mod: binaryen.Module): string {
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.kind === binaryen.ExternalMemory) return info.value;
  }
  throw new Error('the module exports no memory');
}
