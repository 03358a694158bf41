/**
 * Rewrites the runner's main core module once, at build time, so that every run can be limited by the host:
 * - Fuel: a counter (an exported mutable i64 global, decremented, trapping below zero) at the head of every loop and
 *   at the entry of every function that calls another function. That bounds all execution — a run can only go on
 *   through loops or through calls — while leaving out functions that are straight-line code (bounded by whoever
 *   called them) and the return sites. Counting is static, so the same code and input use the same fuel. The
 *   counter is written inline at each site: binaryen's `log-execution` pass calls a counter function instead, and
 *   its inliner leaves many of those calls in the interpreter's huge functions (metering cost ~35 % that way, ~5 %
 *   this way; docs/benchmarks.md).
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

/** Loops in a function body, and whether it calls anything. Iterative: bodies nest thousands of levels deep. */
function scan(body: binaryen.ExpressionRef): { loops: binaryen.ExpressionRef[]; calls: boolean } {
  const loops: binaryen.ExpressionRef[] = [];
  let calls = false;
  const stack = [body];
  while (stack.length > 0) {
    const expr = stack.pop()!;
    const id = binaryen.getExpressionId(expr);
    const fields = CHILDREN[id];
    if (fields === undefined) throw new Error(`fuel instrumentation does not know expression kind ${id}: the toolchain changed`);
    if (id === binaryen.LoopId) loops.push(expr);
    if (CALLS.has(id)) calls = true;
    if (fields.length === 0) continue;
    const info = binaryen.getExpressionInfo(expr) as unknown as Info;
    for (const field of fields) {
      const child = info[field];
      if (Array.isArray(child)) stack.push(...(child as number[]));
      else if (typeof child === 'number' && child !== 0) stack.push(child);
    }
  }
  return { loops, calls };
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
    mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(0x7fffffffffffffffn));
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
    if (meterFuel) {
      const fuel = () => mod.global.get(FUEL_GLOBAL, binaryen.i64);
      // A fresh tree per site: binaryen expressions must not be shared between parents.
      const charge = () =>
        mod.block(null, [
          mod.global.set(FUEL_GLOBAL, mod.i64.sub(fuel(), mod.i64.const(1n))),
          mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable()),
        ]);
      for (let i = 0; i < mod.getNumFunctions(); i++) {
        const func = mod.getFunctionByIndex(i);
        const info = binaryen.getFunctionInfo(func);
        if (info.module !== '' || info.body === 0) continue; // an import
        const { loops, calls } = scan(info.body);
        for (const loop of loops) {
          const body = Loop.getBody(loop);
          Loop.setBody(loop, mod.block(null, [charge(), body], binaryen.getExpressionType(body)));
        }
        if (calls) Func.setBody(func, mod.block(null, [charge(), info.body], binaryen.getExpressionType(info.body)));
      }
    }
    if (!mod.validate()) throw new Error('the instrumented runner module does not validate');
    return { bytes: mod.emitBinary(), initialPages: memory.initial };
  } finally {
    mod.dispose();
  }
}
