/**
 * A finished run's memory serves the next instance only cleaned for the runtime it goes to, at its initial size, with
 * the new run's maximum: once instantiated, it holds exactly what a new memory would.
 */
import { describe, expect, it } from 'vitest';
import { activeDataRanges } from '../../src/sandbox/runtime/data-ranges.js';
import { MemoryRecycler, type MemoryLayout } from '../../src/sandbox/host/memory-recycler.js';

const PAGE = 64 * 1024;
const used = (initial: number, maximum: number) => {
  const memory = new WebAssembly.Memory({ initial, maximum });
  new Uint8Array(memory.buffer).fill(0xab);
  return memory;
};
const layout = (initialPages: number, dataRanges: MemoryLayout['dataRanges'] = []): MemoryLayout => ({ initialPages, dataRanges });

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const name = (text: string) => [...leb(text.length), ...new TextEncoder().encode(text)];

/** A module importing its memory (capsule.memory, 2 pages at least) and writing active data segments into it. */
function moduleWithData(segments: Array<[offset: number, bytes: number[]]>): Uint8Array<ArrayBuffer> {
  const imports = section(2, [1, ...name('capsule'), ...name('memory'), 0x02, 0x00, 2]);
  // i32.const offsets are signed LEB128: these tests keep them below 64, a single byte.
  const data = section(11, [segments.length, ...segments.flatMap(([offset, bytes]) => [0x00, 0x41, offset, 0x0b, ...leb(bytes.length), ...bytes])]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...imports, ...data]);
}

describe('MemoryRecycler', () => {
  it('hands back the last run\'s memory once, every byte zero', () => {
    const recycler = new MemoryRecycler();
    const shape = layout(4);
    const memory = used(4, 16);
    recycler.give(memory, shape, 16);
    const again = recycler.take(shape, 16);
    expect(again).toBe(memory);
    expect(new Uint8Array(again.buffer).every((byte) => byte === 0)).toBe(true);
    expect(recycler.take(shape, 16)).not.toBe(memory);
  });

  it('never reuses a memory the guest grew (it cannot shrink back)', () => {
    const recycler = new MemoryRecycler();
    const shape = layout(4);
    const memory = used(4, 16);
    memory.grow(1);
    recycler.give(memory, shape, 16);
    const next = recycler.take(shape, 16);
    expect(next).not.toBe(memory);
    expect(next.buffer.byteLength).toBe(4 * PAGE);
  });

  it('makes a new memory when the next run has another cap or runtime', () => {
    const recycler = new MemoryRecycler();
    const shape = layout(4);
    const memory = used(4, 16);
    recycler.give(memory, shape, 16);
    const capped = recycler.take(shape, 8);
    expect(capped).not.toBe(memory);
    // The new one has the cap asked for: it cannot grow past 8 pages.
    expect(() => capped.grow(5)).toThrow(RangeError);
    recycler.give(used(4, 16), shape, 16);
    expect(recycler.take(layout(5), 16).buffer.byteLength).toBe(5 * PAGE);
    // Another runtime with the same size: its data segments cover other bytes, so the memory is not shared.
    const other = used(4, 16);
    recycler.give(other, shape, 16);
    expect(recycler.take(layout(4), 16)).not.toBe(other);
  });

  it('zeroes every byte data segments do not overwrite, and leaves large stretches they do', () => {
    const recycler = new MemoryRecycler();
    // Bytes between two gaps a few bytes apart are zeroed with them (one fill is cheaper than two): 8 bytes at PAGE.
    const shape = layout(2, [[8192, 16384], [PAGE, PAGE + 8]]);
    const memory = used(2, 4);
    recycler.give(memory, shape, 4);
    const bytes = new Uint8Array(recycler.take(shape, 4).buffer);
    expect(bytes.every((byte, at) => byte === (at >= 8192 && at < 16384 ? 0xab : 0))).toBe(true);
  });

  it('once instantiated, a recycled memory holds exactly what a new one does', () => {
    const bytes = moduleWithData([[0, [1, 2, 3]], [40, [9, 8, 7, 6, 5]], [2, [4, 4]]]);
    const module = new WebAssembly.Module(bytes);
    const shape = layout(2, activeDataRanges(bytes));
    expect(shape.dataRanges).toEqual([[0, 4], [40, 45]]);
    const fresh = new WebAssembly.Memory({ initial: 2, maximum: 4 });
    new WebAssembly.Instance(module, { capsule: { memory: fresh } });

    const recycler = new MemoryRecycler();
    // A previous run wrote everywhere, the segments' bytes included.
    const dirty = used(2, 4);
    new WebAssembly.Instance(module, { capsule: { memory: dirty } });
    new Uint8Array(dirty.buffer).fill(0xcd, 0, 100);
    new Uint8Array(dirty.buffer).fill(0xef, PAGE);
    recycler.give(dirty, shape, 4);
    const recycled = recycler.take(shape, 4);
    expect(recycled).toBe(dirty);
    new WebAssembly.Instance(module, { capsule: { memory: recycled } });
    expect(Buffer.compare(new Uint8Array(recycled.buffer), new Uint8Array(fresh.buffer))).toBe(0);
  });
});

describe('activeDataRanges', () => {
  it('reads no range from a segment whose offset is not a constant, and zeroes what it would write', () => {
    // (global (import "env" "base") i32) (data (global.get 0) "\01\02")
    const imports = section(2, [2, ...name('capsule'), ...name('memory'), 0x02, 0x00, 2, ...name('env'), ...name('base'), 0x03, 0x7f, 0x00]);
    const data = section(11, [2, 0x00, 0x23, 0x00, 0x0b, 2, 1, 2, 0x00, 0x41, 8, 0x0b, 1, 7]);
    const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...imports, ...data]);
    new WebAssembly.Module(bytes); // valid
    expect(activeDataRanges(bytes)).toEqual([[8, 9]]);
  });

  it('reads no range at all from a module it cannot follow', () => {
    // An unknown opcode in an offset expression: the segment's end cannot be found, so no range is trusted.
    const data = section(11, [2, 0x00, 0x41, 0, 0x0b, 1, 7, 0x00, 0xfc, 0x0b, 1, 7]);
    expect(activeDataRanges(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...data]))).toEqual([]);
  });
});
