/**
 * The linear memory of a finished run, cleaned, for the next instance of the same runtime. Creating an instance
 * writes the runtime's data segments into a new memory, and on a new memory each 4 KiB page costs a page fault on
 * first write: most of instantiating (measured: JS 5.1 -> 2.2 ms, Python 31.8 -> 13.6 ms with the pages already
 * mapped). A recycled memory is indistinguishable from a new one once the instance is created: every byte that
 * instantiation does not overwrite with a data segment is zeroed (the rest is overwritten: runtime/data-ranges.ts;
 * for Python that leaves 2.3 of 18.9 MB to zero, ~0.2 ms instead of 0.7-1.1 ms), its size is the runtime's initial size
 * (a memory the guest grew is never reused: memories cannot shrink) and its maximum is the new run's `ram`. A memory
 * goes only to an instance of the runtime it was cleaned for (another runtime's segments cover other bytes).
 * Everything else an instance holds (tables, globals, the fuel counter, its imports) is created afresh for each run.
 */
import { uncovered, type ByteRanges } from '../runtime/data-ranges.js';
import { WASM_PAGE_BYTES } from '../runtime/manifest.js';

/**
 * Zeroing bytes that instantiation then overwrites is harmless, and one `fill` call costs about as much as zeroing
 * this many bytes: gaps closer than this are zeroed as one (CPython's 3,663 gaps: 0.5 -> 0.2 ms).
 */
const FILL_CALL_BYTES = 4096;

/** `ranges` (sorted, disjoint) with every two less than `distance` apart joined, the bytes between them included. */
function coalesce(ranges: ByteRanges, distance: number): ByteRanges {
  const joined: ByteRanges = [];
  for (const [start, end] of ranges) {
    const last = joined[joined.length - 1];
    if (last && start - last[1] < distance) last[1] = end;
    else joined.push([start, end]);
  }
  return joined;
}

/** One runtime's memory as instantiation leaves it; compared by identity (one object per runtime and thread). */
export interface MemoryLayout {
  initialPages: number;
  /** The bytes instantiation overwrites (the memory module's active data segments): sorted, merged. */
  dataRanges: ByteRanges;
}

export class MemoryRecycler {
  private kept: { memory: WebAssembly.Memory; layout: MemoryLayout; maximumPages: number } | undefined;
  private readonly gaps = new WeakMap<MemoryLayout, ByteRanges>();

  /**
   * Keeps a finished run's memory, cleaned for another instance with `layout`, if it still has the initial size;
   * drops any memory kept before.
   */
  give(memory: WebAssembly.Memory, layout: MemoryLayout, maximumPages: number): void {
    this.kept = undefined;
    const size = layout.initialPages * WASM_PAGE_BYTES;
    if (memory.buffer.byteLength !== size) return;
    let gaps = this.gaps.get(layout);
    if (!gaps) this.gaps.set(layout, (gaps = coalesce(uncovered(layout.dataRanges, size), FILL_CALL_BYTES)));
    const bytes = new Uint8Array(memory.buffer);
    for (const [start, end] of gaps) bytes.fill(0, start, end);
    this.kept = { memory, layout, maximumPages };
  }

  /**
   * The kept memory if it was cleaned for this layout and has this maximum (it is handed out once), else a new one.
   * Only instantiating `layout`'s memory module makes a recycled memory equal to a new one: pass it nowhere else.
   */
  take(layout: MemoryLayout, maximumPages: number): WebAssembly.Memory {
    const kept = this.kept;
    this.kept = undefined;
    if (kept && kept.layout === layout && kept.maximumPages === maximumPages && kept.memory.buffer.byteLength === layout.initialPages * WASM_PAGE_BYTES) return kept.memory;
    return new WebAssembly.Memory({ initial: layout.initialPages, maximum: maximumPages });
  }
}
