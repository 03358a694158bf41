/**
 * The bytes of linear memory that instantiating a module overwrites: its active data segments' ranges, read from the
 * module's binary when the runtime is built (build-process.ts) and kept in its manifest. The memory recycler (host/memory-recycler.ts) zeroes only the rest of a recycled memory, since
 * instantiation writes every byte of these ranges anyway. CPython's main module fills 16.6 MB of its 18.9 MB this
 * way (3,649 segments), so zeroing all of it first was 0.7-1.1 ms of each fresh Python instance spent on bytes
 * about to be overwritten.
 *
 * Errs on the side of zeroing: a segment whose offset is anything but a constant (`i32.const N`), or that targets
 * a memory other than the first, is not counted, and bytes it would write are zeroed like any other.
 */

/** Sorted, merged, non-empty [start, end) byte ranges. */
export type ByteRanges = Array<[number, number]>;

const DATA_SECTION = 11;
const END = 0x0b;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const GLOBAL_GET = 0x23;
const REF_NULL = 0xd0;
const REF_FUNC = 0xd2;
/** i32/i64 add, sub, mul: the extended constant expressions (CPython's position-independent modules use them). */
const ARITHMETIC = new Set([0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e]);

class Reader {
  constructor(private readonly bytes: Uint8Array, public at = 0) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error('truncated WebAssembly module');
    return this.bytes[this.at++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      if (shift > 28) throw new Error('malformed LEB128 in a WebAssembly module');
    }
  }

  /** A signed LEB128 of up to 32 bits (an i32.const immediate). */
  s32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > 35) throw new Error('malformed LEB128 in a WebAssembly module');
    } while (byte & 0x80);
    return byte & 0x40 ? result - 2 ** shift : result;
  }

  /** Skips a signed LEB128 of up to 64 bits. */
  s64(): void {
    for (let i = 0; this.byte() & 0x80; i++) if (i > 9) throw new Error('malformed LEB128 in a WebAssembly module');
  }
}

/** The ranges of memory 0 that the module's active data segments with constant offsets write at instantiation. */
export function activeDataRanges(module: Uint8Array): ByteRanges {
  const reader = new Reader(module, 8);
  const ranges: ByteRanges = [];
  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.at + size;
    if (id === DATA_SECTION) {
      const count = reader.u32();
      for (let i = 0; i < count; i++) {
        const flags = reader.u32();
        if (flags === 1) { // passive: nothing written at instantiation
          reader.at += reader.u32();
          continue;
        }
        const memory = flags === 2 ? reader.u32() : 0;
        const offset = constantOffset(reader);
        if (offset === undefined) return []; // an expression this does not know: no range is trusted
        const length = reader.u32();
        if (memory === 0 && offset !== null && offset >= 0 && length > 0) ranges.push([offset, offset + length]);
        reader.at += length;
      }
    }
    reader.at = end;
  }
  return merge(ranges);
}

/**
 * Reads a constant expression up to its `end`: its value if it is exactly `i32.const N`, null for any other valid
 * constant expression (a global's value is not known here), undefined for an opcode a constant expression cannot have.
 */
function constantOffset(reader: Reader): number | null | undefined {
  let constant: number | null = null;
  let instructions = 0;
  for (;;) {
    const op = reader.byte();
    if (op === END) return instructions === 1 ? constant : null;
    instructions++;
    if (op === I32_CONST) constant = reader.s32();
    else if (op === I64_CONST) reader.s64();
    else if (op === GLOBAL_GET || op === REF_FUNC) reader.u32();
    else if (op === REF_NULL) reader.byte();
    else if (!ARITHMETIC.has(op)) return undefined;
    if (op !== I32_CONST) constant = null;
  }
}

function merge(ranges: ByteRanges): ByteRanges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: ByteRanges = [];
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** The parts of [0, size) outside `covered` (sorted and merged, as activeDataRanges returns them). */
export function uncovered(covered: ByteRanges, size: number): ByteRanges {
  const gaps: ByteRanges = [];
  let at = 0;
  for (const [start, end] of covered) {
    if (start >= size) break;
    if (start > at) gaps.push([at, start]);
    at = Math.max(at, end);
  }
  if (at < size) gaps.push([at, size]);
  return gaps;
}
