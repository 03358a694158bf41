/**
 * Timers a guest waits on (setTimeout, time.sleep: wasi monotonic-clock subscriptions), served in the sandbox
 * thread. preview2-shim would hand each one to its I/O worker, a second thread per sandbox thread (~10 MB RSS,
 * started at its first use: runtime/lazy-shim-worker.ts), and block on the answer. A timer needs no I/O, so a wait
 * on timers alone is a sleep on this thread (Atomics.wait, the shim's own way of blocking: the pool can still
 * terminate the thread in it). A wait that mixes timers with real I/O (an HTTP response, a stream) goes to the
 * shim, each timer replaced for that call by one of the shim's own for the time it has left.
 */
import * as shim from '@bytecodealliance/preview2-shim';

type ShimPollable = object;
const { Pollable, poll: shimPoll } = shim.io.poll as unknown as {
  Pollable: new () => ShimPollable;
  poll(list: ShimPollable[]): Uint32Array;
};
const shimClock = shim.clocks.monotonicClock as unknown as { subscribeDuration(ns: bigint): ShimPollable };
// The shim names its resources' destructor this way (Node 20 may lack Symbol.dispose).
const symbolDispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const now = () => process.hrtime.bigint();

function sleepUntil(deadline: bigint): void {
  // Nothing ever notifies `sleeper`: each wait ends at its timeout (rounded to whole ms, so loop to the deadline).
  for (let left = deadline - now(); left > 0n; left = deadline - now()) Atomics.wait(sleeper, 0, 0, Math.max(1, Math.ceil(Number(left) / 1e6)));
}

/** A pollable that is ready at `deadline` (host monotonic time, ns). It is the shim's class, as the glue checks. */
class TimerPollable extends Pollable {
  constructor(readonly deadline: bigint) {
    super();
  }

  ready(): boolean {
    return now() >= this.deadline;
  }

  block(): void {
    sleepUntil(this.deadline);
  }

  // Holds nothing in the shim's worker, so the shim's destructor must not run for it.
  [symbolDispose](): void {}
}

/** A pollable ready after `ns` nanoseconds of host time. */
export function timerAfter(ns: bigint): ShimPollable {
  return new TimerPollable(now() + (ns > 0n ? ns : 0n));
}

/** wasi:io/poll's `poll`: the indices of the ready pollables, waiting until at least one is ready. */
export function poll(list: ShimPollable[]): Uint32Array {
  if (list.length > 0 && list.every((p) => p instanceof TimerPollable)) {
    const timers = list as TimerPollable[];
    sleepUntil(timers.reduce((earliest, t) => (t.deadline < earliest ? t.deadline : earliest), timers[0]!.deadline));
    const at = now();
    return Uint32Array.from(timers.flatMap((t, i) => (t.deadline <= at ? [i] : [])));
  }
  const standIns: ShimPollable[] = [];
  const forShim = list.map((p) => {
    if (!(p instanceof TimerPollable)) return p;
    const left = p.deadline - now();
    const standIn = shimClock.subscribeDuration(left > 0n ? left : 0n);
    standIns.push(standIn);
    return standIn;
  });
  try {
    return shimPoll(forShim);
  } finally {
    for (const standIn of standIns) (standIn as Record<symbol, () => void>)[symbolDispose]!();
  }
}

export const pollInterface = { Pollable, poll };
