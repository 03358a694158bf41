/** A finished run's memory serves the next instance only zeroed, at its initial size, with the new run's maximum. */
import { describe, expect, it } from 'vitest';
import { MemoryRecycler } from '../../src/sandbox/host/memory-recycler.js';

const PAGE = 64 * 1024;
const used = (initial: number, maximum: number) => {
  const memory = new WebAssembly.Memory({ initial, maximum });
  new Uint8Array(memory.buffer).fill(0xab);
  return memory;
};

describe('MemoryRecycler', () => {
  it('hands back the last run\'s memory once, every byte zero', () => {
    const recycler = new MemoryRecycler();
    const memory = used(4, 16);
    recycler.give(memory, 4, 16);
    const again = recycler.take(4, 16);
    expect(again).toBe(memory);
    expect(new Uint8Array(again.buffer).every((byte) => byte === 0)).toBe(true);
    expect(recycler.take(4, 16)).not.toBe(memory);
  });

  it('never reuses a memory the guest grew (it cannot shrink back)', () => {
    const recycler = new MemoryRecycler();
    const memory = used(4, 16);
    memory.grow(1);
    recycler.give(memory, 4, 16);
    const next = recycler.take(4, 16);
    expect(next).not.toBe(memory);
    expect(next.buffer.byteLength).toBe(4 * PAGE);
  });

  it('makes a new memory when the next run has another cap or initial size', () => {
    const recycler = new MemoryRecycler();
    const memory = used(4, 16);
    recycler.give(memory, 4, 16);
    const capped = recycler.take(4, 8);
    expect(capped).not.toBe(memory);
    // The new one has the cap asked for: it cannot grow past 8 pages.
    expect(() => capped.grow(5)).toThrow(RangeError);
    recycler.give(used(4, 16), 4, 16);
    expect(recycler.take(5, 16).buffer.byteLength).toBe(5 * PAGE);
  });
});
