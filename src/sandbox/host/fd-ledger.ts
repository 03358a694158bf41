/**
 * Every file descriptor a sandbox thread holds, written where the pool can still read it after the thread is gone.
 * Descriptors belong to the process, not the thread: a thread terminated mid-call (timeout, cancellation) would
 * leak the ones it held, and a worker that serves many timed-out runs would end at EMFILE. The pool closes what
 * the ledger still lists once the thread has exited.
 *
 * A slot is written right after open() and cleared right before close(): a thread stopped between the two leaks
 * at most that one descriptor, and the pool never closes a number the thread already gave back (another thread may
 * have been handed the same number since).
 */
import { closeSync } from 'node:fs';

/** Descriptors one thread may hold at once: grant roots, a walk, an open file, a recursive removal's levels. */
export const LEDGER_SLOTS = 512;

export class FdLedger {
  private readonly slots: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.slots = new Int32Array(buffer);
  }

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(LEDGER_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Records `fd` (stored as fd + 1: zero marks a free slot). Without a free slot the descriptor is closed at once. */
  track(fd: number): number {
    for (let i = 0; i < this.slots.length; i++) {
      if (Atomics.compareExchange(this.slots, i, 0, fd + 1) === 0) return fd;
    }
    closeSync(fd);
    throw Object.assign(new Error('too many open files in one sandbox call'), { code: 'EMFILE' });
  }

  /** Forgets `fd`, then closes it. */
  close(fd: number): void {
    for (let i = 0; i < this.slots.length; i++) {
      if (Atomics.compareExchange(this.slots, i, fd + 1, 0) === fd + 1) break;
    }
    closeSync(fd);
  }

  /** For the pool, after the thread exited: closes every descriptor still listed. Returns how many. */
  static closeLeftovers(buffer: SharedArrayBuffer): number {
    const slots = new Int32Array(buffer);
    let closed = 0;
    for (let i = 0; i < slots.length; i++) {
      const entry = Atomics.exchange(slots, i, 0);
      if (entry === 0) continue;
      try {
        closeSync(entry - 1);
        closed++;
      } catch {
        // Already closed: nothing to do.
      }
    }
    return closed;
  }
}
