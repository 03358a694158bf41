/**
 * Rewrites a runner's core modules once, at build time, so that every run can be limited by the host:
 * - Fuel counts wasm instructions, the way wasmtime (the original Capsule's engine) counts them: one unit per
 *   operator, none for the ones that only structure control flow or generate no code (block, loop, end, else, nop,
 *   drop, return, unreachable). Limits written for the original then mean the same work here (docs/sandbox.md).
 *   The count is static, so the same code and input use the same fuel: the code is cut into straight-line segments
 *   (a new one starts at a loop body, at each arm of an `if`, and after any child that may branch: a nested block,
 *   loop or `if`, a `br`/`br_if`/`br_table`, a return), and each segment is charged its instruction count once, where
 *   it starts. A block entered unconditionally adds its first segment to the enclosing one, so the nested blocks of a
 *   compiled `switch` charge each case only when control lands in it. Charges only subtract; the counter (an
 *   imported mutable i64 global) is checked against zero where a run can go on without bound: at the head of every
 *   loop and at the entry of every function that calls another function. Straight-line code between two checks is
 *   bounded by the code's size, so a run stops within one segment's worth of the budget, at the same place every
 *   time. Every module with code of its own is metered against the same imported global: a component is several
 *   core modules (CPython's is fourteen), and a loop in any of them must spend the run's fuel.
 *   Bulk memory operations (memory.copy, memory.fill, memory.init) do work in proportion to their length in one
 *   instruction: each is charged one unit per BULK_BYTES_PER_FUEL bytes before it runs (its length passes through a
 *   small counting function, so operands are evaluated in their original order). Table bulk operations do not occur
 *   in the runners (scan() refuses any expression kind it does not know).
 * - Memory: the memory-owning module's memory becomes an import, so each run supplies a `WebAssembly.Memory` whose
 *   `maximum` is the task's `ram`. V8's worker resourceLimits do not cover wasm memory; this does.
 * - Exports the jco glue never reads are dropped, and what only they reached (see `keepExports`): they cost every
 *   fresh instance time, not the guest anything.
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
 * Bytes of a bulk memory operation per fuel unit, as a power of two. One byte per unit keeps fuel roughly in step
 * with time: ordinary guest code runs about 3e9 wasm instructions per second here (TurboFan), a memory.fill moves
 * about 1e10 bytes.
 */
export const BULK_BYTES_PER_FUEL_SHIFT = 0n;

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
const { Block, If, Loop, Function: Func } = binaryen as unknown as {
  Block: { insertChildAt(block: number, index: number, child: number): void };
  If: { getIfTrue(iff: number): number; getIfFalse(iff: number): number; setIfTrue(iff: number, expr: number): void; setIfFalse(iff: number, expr: number): void };
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

/** Operators that cost nothing in wasmtime's count (`end` and `else` have no node of their own here). */
const FREE = new Set<number>([binaryen.BlockId, binaryen.LoopId, binaryen.NopId, binaryen.DropId, binaryen.ReturnId, binaryen.UnreachableId, binaryen.PopId, binaryen.TupleMakeId, binaryen.TupleExtractId]);
/** Operators after which control may not fall through to the next one: the segment they are in ends with them. */
const BRANCHES = new Set<number>([binaryen.BreakId, binaryen.SwitchId, binaryen.ReturnId, binaryen.UnreachableId]);

/** A charge of `cost` units before child `index` of a block (the start of one of its segments after the first). */
interface BlockCharge { block: binaryen.ExpressionRef; index: number; cost: number }

/** Where an expression sits: its parent and the parent's field (and index, for lists), to put something before it. */
interface Slot { expr: binaryen.ExpressionRef; parent: binaryen.ExpressionRef; parentId: number; field: string; index: number }

interface Plan {
  /** Instructions of the function body's first segment (blocks it enters unconditionally included). */
  entryCost: number;
  blockCharges: BlockCharge[];
  loops: Array<{ loop: binaryen.ExpressionRef; cost: number }>;
  arms: Array<{ iff: binaryen.ExpressionRef; arm: 'ifTrue' | 'ifFalse'; cost: number }>;
  bulk: binaryen.ExpressionRef[];
  calls: boolean;
  /** Returns and tail calls: the function's pending charges are settled before each. */
  exits: Slot[];
  /** The body itself is a return or a tail call (it has no parent to put the settling before). */
  bodyIsExit: boolean;
}

/**
 * Where a function's charges go and what each costs. Post-order and iterative (bodies nest thousands deep): each
 * expression's summary is the cost of its instructions that run unconditionally once it is reached (its own, its
 * operands', the first segment of a block it enters) and whether it may branch, which ends the enclosing segment.
 */
function plan(body: binaryen.ExpressionRef): Plan {
  const result: Plan = { entryCost: 0, blockCharges: [], loops: [], arms: [], bulk: [], calls: false, exits: [], bodyIsExit: false };
  const summaries = new Map<binaryen.ExpressionRef, { cost: number; branches: boolean }>();
  const summary = (expr: binaryen.ExpressionRef) => summaries.get(expr)!;
  const stack: Array<{ expr: binaryen.ExpressionRef; info: Info | null; expanded: boolean; slot: Slot | null }> = [{ expr: body, info: null, expanded: false, slot: null }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const id = binaryen.getExpressionId(top.expr);
    const fields = CHILDREN[id];
    if (fields === undefined) throw new Error(`fuel instrumentation does not know expression kind ${id}: the toolchain changed`);
    if (!top.expanded) {
      top.expanded = true;
      if (fields.length > 0) {
        top.info = binaryen.getExpressionInfo(top.expr) as unknown as Info;
        for (const field of fields) {
          const child = top.info[field];
          const slot = (expr: number, index: number) => ({ expr, info: null, expanded: false, slot: { expr, parent: top.expr, parentId: id, field, index } });
          if (Array.isArray(child)) (child as number[]).forEach((c, index) => stack.push(slot(c, index)));
          else if (typeof child === 'number' && child !== 0) stack.push(slot(child, -1));
        }
      }
      continue;
    }
    stack.pop();
    const children = top.info === null ? [] : childrenOf(top.info, fields);
    if (BULK.has(id)) result.bulk.push(top.expr);
    if (CALLS.has(id)) result.calls = true;
    if (id === binaryen.ReturnId || (CALLS.has(id) && top.info!.isReturn === true)) {
      if (top.slot === null) result.bodyIsExit = true;
      else result.exits.push(top.slot);
    }
    if (id === binaryen.BlockId) {
      // Segments: a new one starts after each child that may branch. The first is the block's own cost.
      let cost = 0;
      let first = -1;
      let start = 0;
      let branches = false;
      children.forEach((child, index) => {
        const s = summary(child);
        cost += s.cost;
        if (!s.branches || index === children.length - 1) return;
        branches = true;
        if (first < 0) first = cost;
        else if (cost > 0) result.blockCharges.push({ block: top.expr, index: start, cost });
        cost = 0;
        start = index + 1;
      });
      if (first < 0) first = cost;
      else if (cost > 0) result.blockCharges.push({ block: top.expr, index: start, cost });
      branches ||= children.some((child) => summary(child).branches);
      summaries.set(top.expr, { cost: first, branches });
    } else if (id === binaryen.LoopId) {
      const loopBody = top.info!.body as number;
      result.loops.push({ loop: top.expr, cost: summary(loopBody).cost });
      summaries.set(top.expr, { cost: 0, branches: true });
    } else if (id === binaryen.IfId) {
      // Exactly one arm runs when there are two: what both start with is charged before the `if`, one site fewer.
      const ifTrue = top.info!.ifTrue as number;
      const ifFalse = top.info!.ifFalse as number;
      const shared = ifFalse ? Math.min(summary(ifTrue).cost, summary(ifFalse).cost) : 0;
      result.arms.push({ iff: top.expr, arm: 'ifTrue', cost: summary(ifTrue).cost - shared });
      if (ifFalse) result.arms.push({ iff: top.expr, arm: 'ifFalse', cost: summary(ifFalse).cost - shared });
      summaries.set(top.expr, { cost: 1 + summary(top.info!.condition as number).cost + shared, branches: true });
    } else {
      let cost = FREE.has(id) ? 0 : 1;
      let branches = BRANCHES.has(id);
      for (const child of children) {
        const s = summary(child);
        cost += s.cost;
        branches ||= s.branches;
      }
      summaries.set(top.expr, { cost, branches });
    }
  }
  result.entryCost = summary(body).cost;
  return result;
}

function childrenOf(info: Info, fields: string[]): number[] {
  const children: number[] = [];
  for (const field of fields) {
    const child = info[field];
    if (Array.isArray(child)) children.push(...(child as number[]));
    else if (typeof child === 'number' && child !== 0) children.push(child);
  }
  return children;
}

/**
 * `keepExports`: the only exports to keep (glue-exports.ts: those the jco glue reads); null keeps them all. Module
 * elements nothing reaches (functions, unused imports, a table) are then removed, the other data and code stay.
 * `meterFuel: false` makes the same module without the fuel counter (it still imports the global, so both load the
 * same way): only the benchmark uses it, to measure what metering costs.
 */
export function instrumentCoreModule(
  original: Uint8Array,
  { meterFuel = true, importMemory = false, keepExports = null }: { meterFuel?: boolean; importMemory?: boolean; keepExports?: ReadonlySet<string> | null } = {},
): InstrumentedModule {
  const mod = binaryen.readBinary(original);
  try {
    mod.setFeatures(mod.getFeatures() | V8_FEATURES);
    if (keepExports) removeExportsExcept(mod, keepExports);
    // What nothing reaches any more goes too: functions only a dropped export named, and a shared library's import of
    // the function table when it never uses it (CPython's three smallest libraries): every instance that imports a
    // table keeps a dispatch table of its 5,764 entries, updated on every later write to it. Exports, start
    // functions, element and active data segments are what binaryen keeps everything reachable from.
    mod.runPasses(['remove-unused-module-elements']);
    let initialPages: number | null = null;
    if (importMemory) {
      const name = exportedMemoryName(mod);
      initialPages = mod.getMemoryInfo(name).initial;
      mod.addMemoryImport(name, MEMORY_IMPORT.module, MEMORY_IMPORT.name);
    }
    mod.addGlobalImport(FUEL, FUEL_IMPORT.module, FUEL_IMPORT.name, binaryen.i64, true);
    if (meterFuel) {
      const fuel = () => mod.global.get(FUEL, binaryen.i64);
      const spend = (units: binaryen.ExpressionRef) => mod.global.set(FUEL, mod.i64.sub(fuel(), units));
      const check = () => mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable());
      const functions = mod.getNumFunctions();
      // charge_bulk(n): spends n >> SHIFT units (trapping below zero) and returns n, the operation's length.
      mod.addFunction(CHARGE_BULK, binaryen.i32, binaryen.i32, [], mod.block(null, [
        spend(mod.i64.shr_u(mod.i64.extend_u(mod.local.get(0, binaryen.i32)), mod.i64.const(BULK_BYTES_PER_FUEL_SHIFT))),
        check(),
        mod.local.get(0, binaryen.i32),
      ], binaryen.i32));
      for (let i = 0; i < functions; i++) {
        const func = mod.getFunctionByIndex(i);
        const info = binaryen.getFunctionInfo(func);
        if (info.module !== '' || info.body === 0) continue; // an import
        const steps = plan(info.body);
        for (const op of steps.bulk) {
          const accessor = BULK_ACCESSORS[binaryen.getExpressionId(op)]!;
          const size = accessor.getSize(op);
          if (binaryen.getExpressionType(size) !== binaryen.i32) throw new Error('fuel instrumentation expects 32-bit bulk memory lengths: the toolchain changed');
          accessor.setSize(op, mod.call(CHARGE_BULK, [size], binaryen.i32));
        }
        meterFunction(mod, func, info.body, steps, { spend, check });
      }
    }
    if (!mod.validate()) throw new Error('the instrumented runner module does not validate');
    return { bytes: mod.emitBinary(), initialPages };
  } finally {
    mod.dispose();
  }
}

/**
 * Puts a plan's charges into one function. Segment charges add to a local (`pending`: a register once V8 optimises,
 * where updating the imported global at every segment made metered code ~4x slower); the global is settled from it
 * at every check (loop heads, the entry of a calling function) and wherever the function is left (returns, tail
 * calls, the end of its body). Callees settle their own, so nothing is lost across calls and no reload is needed;
 * a run that traps for another reason loses only its last segments' charges.
 */
function meterFunction(
  mod: binaryen.Module,
  func: binaryen.FunctionRef,
  body: binaryen.ExpressionRef,
  { entryCost, blockCharges, loops, arms, exits, bodyIsExit, calls }: Plan,
  { spend, check }: { spend(units: binaryen.ExpressionRef): binaryen.ExpressionRef; check(): binaryen.ExpressionRef },
): void {
  // Without later segments (most small functions) nothing is ever pending: the entry charge goes to the global directly.
  const usesPending = blockCharges.length > 0 || arms.some((a) => a.cost > 0) || loops.length > 0;
  const pending = usesPending ? addVar(func, binaryen.i64) : -1;
  const get = () => mod.local.get(pending, binaryen.i64);
  const add = (cost: number) => mod.local.set(pending, mod.i64.add(get(), mod.i64.const(BigInt(cost))));
  // The global takes what is pending plus `cost`; pending starts again from zero.
  const settle = (cost = 0) =>
    usesPending
      ? [spend(cost > 0 ? mod.i64.add(get(), mod.i64.const(BigInt(cost))) : get()), mod.local.set(pending, mod.i64.const(0n))]
      : cost > 0 ? [spend(mod.i64.const(BigInt(cost)))] : [];
  const prefixed = (sites: binaryen.ExpressionRef[], expr: binaryen.ExpressionRef) =>
    sites.length === 0 ? expr : mod.block(null, [...sites, expr], binaryen.getExpressionType(expr));

  // Exits first: their slots index into blocks' children as they were read.
  if (usesPending) {
    for (const slot of exits) replaceIn(slot, prefixed(settle(), slot.expr));
  }
  // Later segments of a block from its last child back, so the indices still point where they did.
  for (let j = blockCharges.length - 1; j >= 0; j--) {
    const { block, index, cost } = blockCharges[j]!;
    Block.insertChildAt(block, index, add(cost));
  }
  // Arms and loop bodies as they are now (an exit may have been wrapped in place of one).
  for (const { iff, arm, cost } of arms) {
    if (cost > 0) If[arm === 'ifTrue' ? 'setIfTrue' : 'setIfFalse'](iff, prefixed([add(cost)], If[arm === 'ifTrue' ? 'getIfTrue' : 'getIfFalse'](iff)));
  }
  for (const { loop, cost } of loops) Loop.setBody(loop, prefixed([...settle(cost), check()], Loop.getBody(loop)));
  let wrapped = body;
  const type = binaryen.getExpressionType(body);
  if (usesPending && bodyIsExit) wrapped = prefixed(settle(), body);
  else if (usesPending && type !== binaryen.unreachable) {
    if (type === binaryen.none) wrapped = mod.block(null, [body, ...settle()], binaryen.none);
    else {
      const result = addVar(func, type);
      wrapped = mod.block(null, [mod.local.set(result, body), ...settle(), mod.local.get(result, type)], type);
    }
  }
  // The entry: the first segment straight to the global, checked if the function calls others (a recursion passes here).
  Func.setBody(func, prefixed([...(entryCost > 0 ? [spend(mod.i64.const(BigInt(entryCost)))] : []), ...(calls ? [check()] : [])], wrapped));
}

/** A new local of `type` in `func`, by index (binaryen.js has the C function; its typings don't declare it). */
function addVar(func: binaryen.FunctionRef, type: binaryen.Type): number {
  return (binaryen as unknown as { _BinaryenFunctionAddVar(func: number, type: number): number })._BinaryenFunctionAddVar(func, type);
}

/** The binaryen.js class of each expression kind that can hold another, for its setters. */
const CLASS_OF: Record<number, string> = {
  [binaryen.BlockId]: 'Block', [binaryen.IfId]: 'If', [binaryen.LoopId]: 'Loop', [binaryen.BreakId]: 'Break', [binaryen.SwitchId]: 'Switch',
  [binaryen.CallId]: 'Call', [binaryen.CallIndirectId]: 'CallIndirect', [binaryen.LocalSetId]: 'LocalSet', [binaryen.GlobalSetId]: 'GlobalSet',
  [binaryen.LoadId]: 'Load', [binaryen.StoreId]: 'Store', [binaryen.UnaryId]: 'Unary', [binaryen.BinaryId]: 'Binary', [binaryen.SelectId]: 'Select',
  [binaryen.DropId]: 'Drop', [binaryen.ReturnId]: 'Return', [binaryen.MemoryGrowId]: 'MemoryGrow', [binaryen.MemoryInitId]: 'MemoryInit',
  [binaryen.MemoryCopyId]: 'MemoryCopy', [binaryen.MemoryFillId]: 'MemoryFill', [binaryen.RefIsNullId]: 'RefIsNull', [binaryen.RefEqId]: 'RefEq',
  [binaryen.TableGetId]: 'TableGet', [binaryen.TableSetId]: 'TableSet', [binaryen.TableGrowId]: 'TableGrow', [binaryen.TupleMakeId]: 'TupleMake',
  [binaryen.TupleExtractId]: 'TupleExtract',
};

/** Puts `replacement` where `slot.expr` was, through the parent's setter (`setValue`, `setChildAt`, ...). */
function replaceIn(slot: Slot, replacement: binaryen.ExpressionRef): void {
  const accessors = (binaryen as unknown as Record<string, Record<string, (...args: number[]) => void>>)[CLASS_OF[slot.parentId] ?? ''];
  const setter = slot.index >= 0 ? (slot.field === 'children' ? 'setChildAt' : 'setOperandAt') : `set${slot.field[0]!.toUpperCase()}${slot.field.slice(1)}`;
  const set = accessors?.[setter];
  if (set === undefined) throw new Error(`fuel instrumentation cannot replace a child of expression kind ${slot.parentId} (${setter}): the toolchain changed`);
  if (slot.index >= 0) set(slot.parent, slot.index, replacement);
  else set(slot.parent, replacement);
}

function removeExportsExcept(mod: binaryen.Module, keep: ReadonlySet<string>): void {
  const names: string[] = [];
  for (let i = 0; i < mod.getNumExports(); i++) names.push(binaryen.getExportInfo(mod.getExportByIndex(i)).name);
  for (const name of names) if (!keep.has(name)) mod.removeExport(name);
}

function exportedMemoryName(mod: binaryen.Module): string {
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.kind === binaryen.ExternalMemory) return info.value;
  }
  throw new Error('the module exports no memory');
}
