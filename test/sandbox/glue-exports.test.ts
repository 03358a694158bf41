/** The build keeps only the core-module exports the jco glue reads; anything it cannot account for keeps them all. */
import { describe, expect, it } from 'vitest';
import { exportsReadByGlue } from '../../src/sandbox/runtime/glue-exports.js';

// The shape jco 1.15 generates (trimmed): modules fetched by name, instantiated in order, exports read by member.
const glue = (extra = '') => `
const module0 = getCoreModule('runner.core.wasm');
const module1 = getCoreModule('runner.core2.wasm');
const module2 = getCoreModule('runner.core3.wasm');
let exports0;
let exports1;
let exports2;
let exports1Run;
function* runner() {
  ({ exports: exports0 } = yield instantiateCore(yield module1));
  ({ exports: exports1 } = yield instantiateCore(yield module0, {
    env: { f: exports0['0'], g: exports0.helper },
  }));
  ({ exports: exports2 } = yield instantiateCore(yield module2, { 'GOT.mem': { x: exports1.x } }));
  memory0 = exports1.memory;
  exports1Run = exports1['run:export'];
  ${extra}
}`;
const files = ['runner.core.wasm', 'runner.core2.wasm', 'runner.core3.wasm', 'runner.core4.wasm'];

describe('exportsReadByGlue', () => {
  it('lists, per module, the exports the glue reads by name', () => {
    const use = exportsReadByGlue(glue(), files);
    expect(use.get('runner.core2.wasm')).toEqual(new Set(['0', 'helper']));
    expect(use.get('runner.core.wasm')).toEqual(new Set(['x', 'memory', 'run:export']));
    // Instantiated, never read: none of its exports stay.
    expect(use.get('runner.core3.wasm')).toEqual(new Set());
    // Never instantiated in a way this recognises: all of them stay.
    expect(use.get('runner.core4.wasm')).toBeNull();
  });

  it('keeps every export of a module whose exports object the glue uses in any other way', () => {
    expect(exportsReadByGlue(glue('const all = exports1;'), files).get('runner.core.wasm')).toBeNull();
    expect(exportsReadByGlue(glue('const { x } = exports2;'), files).get('runner.core3.wasm')).toBeNull();
    expect(exportsReadByGlue(glue('use(exports0[name]);'), files).get('runner.core2.wasm')).toBeNull();
    // Other modules are still pruned.
    expect(exportsReadByGlue(glue('const all = exports1;'), files).get('runner.core2.wasm')).toEqual(new Set(['0', 'helper']));
  });

  it('keeps every export of a module instantiated twice', () => {
    const twice = glue('({ exports: exports2 } = yield instantiateCore(yield module0));');
    expect(exportsReadByGlue(twice, files).get('runner.core.wasm')).toBeNull();
  });
});
