/**
 * The file descriptors one thread's file calls hold at once (grant roots, a walk, an open file, a recursive
 * removal's levels), capped so that no call — however deep the tree it walks — can take the process's descriptors.
 *
 * Descriptors belong to the process, not the thread, but a thread terminated mid-call (timeout, cancellation) leaks
 * none: Node closes every descriptor a worker opened through `fs` when the worker exits (`trackUnmanagedFds`, which
 * the pool sets explicitly). Nothing else may close them for it: by the time the worker's `exit` event arrives they
 * are closed, and their numbers may already belong to another thread's call, or to libuv (closing one of those
 * aborts the process).
 */
import { closeSync } from 'node:fs';

/** Descriptors one thread may hold at once. */
export const LEDGER_SLOTS = 512;

export class FdLedger {
  private readonly held = new Set<number>();

  /** Records `fd`. Past the cap the descriptor is closed at once and the call fails with EMFILE. */
  track(fd: number): number {
    if (this.held.size >= LEDGER_SLOTS) {
      closeSync(fd);
      throw Object.assign(new Error('too many open files in one sandbox call'), { code: 'EMFILE' });
    }
    this.held.add(fd);
    return fd;
  }

  /** Forgets `fd`, then closes it. */
  close(fd: number): void {
    this.held.delete(fd);
    closeSync(fd);
  }
}
