/**
 * Fuel counts wasm instructions as wasmtime does (issue 17): small modules whose instruction counts can be read off
 * their text, instrumented and run, must consume exactly that many units.
 */
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { instrumentCoreModule } from '../../src/sandbox/runtime/instrument.js';
import { FUEL_IMPORT } from '../../src/sandbox/runtime/manifest.js';

const { i32 } = binaryen;
const none = binaryen.none;

/** Builds a module with `define`, instruments it, and returns its exports and the fuel counter they spend. */
function meter(define: (mod: binaryen.Module) => void, budget = 1n << 40n) {
  const mod = new binaryen.Module();
  define(mod);
  if (!mod.validate()) throw new Error('the test module does not validate');
  const bytes = mod.emitBinary();
  mod.dispose();
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, budget);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(instrumentCoreModule(bytes).bytes)), { [FUEL_IMPORT.module]: { [FUEL_IMPORT.name]: fuel } });
  const spent = (run: () => unknown) => {
    const before = fuel.value as bigint;
    run();
    return Number(before - (fuel.value as bigint));
  };
  return { exports: instance.exports as Record<string, (...args: number[]) => number>, fuel, spent };
}

/** sum(n): 0 + 1 + ... + n-1, the loop written by hand: 13 instructions an iteration, 5 more to leave. */
function defineSum(mod: binaryen.Module) {
  const get = (index: number) => mod.local.get(index, i32);
  mod.addFunction('sum', binaryen.createType([i32]), i32, [i32, i32], mod.block(null, [
    mod.block('done', [
      mod.loop('next', mod.block(null, [
        mod.br('done', mod.i32.ge_s(get(1), get(0))), // local.get, local.get, i32.ge_s, br_if: 4
        mod.local.set(2, mod.i32.add(get(2), get(1))), // 4
        mod.local.set(1, mod.i32.add(get(1), mod.i32.const(1))), // 4
        mod.br('next'), // 1
      ])),
    ]),
    get(2), // 1
  ], i32));
  mod.addFunctionExport('sum', 'sum');
}

describe('fuel as wasm instructions', () => {
  it('charges a straight-line function its instruction count', () => {
    const { exports, spent } = meter((mod) => {
      // local.get, i32.const, i32.add, i32.const, i32.mul: 5 (drop and return would be free)
      mod.addFunction('f', binaryen.createType([i32]), i32, [], mod.i32.mul(mod.i32.add(mod.local.get(0, i32), mod.i32.const(1)), mod.i32.const(2)));
      mod.addFunctionExport('f', 'f');
    });
    expect(spent(() => expect(exports.f!(3)).toBe(8))).toBe(5);
  });

  it('charges a loop per iteration, the same on every run', () => {
    const { exports, spent } = meter(defineSum);
    expect(spent(() => expect(exports.sum!(10)).toBe(45))).toBe(13 * 10 + 5);
    expect(spent(() => exports.sum!(1000))).toBe(13 * 1000 + 5);
    expect(spent(() => exports.sum!(1000))).toBe(13 * 1000 + 5);
  });

  it('charges only the arm of an if that runs', () => {
    const { exports, spent } = meter((mod) => {
      // local.get, if: 2; then: i32.const, i32.const, i32.add, local.set: 4; else: nop: 0
      mod.addFunction('f', binaryen.createType([i32]), none, [i32], mod.if(mod.local.get(0, i32), mod.local.set(1, mod.i32.add(mod.i32.const(1), mod.i32.const(2))), mod.nop()));
      mod.addFunctionExport('f', 'f');
    });
    expect(spent(() => exports.f!(1))).toBe(6);
    expect(spent(() => exports.f!(0))).toBe(2);
  });

  it('charges each arm of an if/else its own count when both arms have code', () => {
    const { exports, spent } = meter((mod) => {
      // local.get, if: 2; then: i32.const, i32.const, i32.add, local.set: 4; else: i32.const, local.set: 2
      mod.addFunction('f', binaryen.createType([i32]), none, [i32], mod.if(mod.local.get(0, i32), mod.local.set(1, mod.i32.add(mod.i32.const(1), mod.i32.const(2))), mod.local.set(1, mod.i32.const(3))));
      mod.addFunctionExport('f', 'f');
    });
    expect(spent(() => exports.f!(1))).toBe(6);
    expect(spent(() => exports.f!(0))).toBe(4);
  });

  it('charges only the case of a br_table that runs, not the cases nested around it', () => {
    const { exports, spent } = meter((mod) => {
      const get = () => mod.local.get(0, i32);
      mod.addFunction('sw', binaryen.createType([i32]), i32, [], mod.block(null, [
        mod.block('b2', [
          mod.block('b1', [
            mod.block('b0', [mod.switch(['b0', 'b1'], 'b2', get())]), // local.get, br_table: 2
            mod.return(mod.i32.add(mod.i32.const(10), mod.i32.const(0))), // case 0: 3
          ]),
          mod.return(mod.i32.const(11)), // case 1: 1
        ]),
        mod.i32.const(12), // default: 1
      ], i32));
      mod.addFunctionExport('sw', 'sw');
    });
    expect(spent(() => expect(exports.sw!(0)).toBe(10))).toBe(5);
    expect(spent(() => expect(exports.sw!(1)).toBe(11))).toBe(3);
    expect(spent(() => expect(exports.sw!(7)).toBe(12))).toBe(3);
  });

  it('charges a callee inside its caller, and settles the caller\'s count when it returns', () => {
    const { exports, spent } = meter((mod) => {
      mod.addFunction('leaf', binaryen.createType([i32]), i32, [], mod.i32.add(mod.local.get(0, i32), mod.i32.const(1))); // 3
      defineSum(mod);
      // leaf: local.get, call, and its own 3; sum: local.get, call, and 13 * 3 + 5; then i32.add: 1
      mod.addFunction('both', binaryen.createType([i32]), i32, [], mod.i32.add(mod.call('leaf', [mod.local.get(0, i32)], i32), mod.call('sum', [mod.local.get(0, i32)], i32)));
      mod.addFunctionExport('both', 'both');
    });
    expect(spent(() => expect(exports.both!(3)).toBe(4 + 3))).toBe(2 + 3 + 2 + (13 * 3 + 5) + 1);
  });

  it('stops a loop once the budget is spent, at the same point every time', () => {
    const spentAtTrap: number[] = [];
    for (let run = 0; run < 2; run++) {
      const { exports, fuel } = meter(defineSum, 1000n);
      expect(() => exports.sum!(1_000_000)).toThrow(WebAssembly.RuntimeError);
      expect(fuel.value as bigint).toBeLessThan(0n);
      // Checked at the loop head: it overshoots by less than one iteration.
      expect(Number(1000n - (fuel.value as bigint))).toBeLessThanOrEqual(1000 + 13);
      spentAtTrap.push(Number(fuel.value as bigint));
    }
    expect(spentAtTrap[1]).toBe(spentAtTrap[0]);
  });
});
