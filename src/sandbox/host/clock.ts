/**
 * Guest time. The engine reads the monotonic clock during garbage collection, so real clocks make fuel vary from
 * run to run. Here time advances by a fixed step per read (deterministic) and jumps forward only when the guest
 * really waits (a timer): the same input then consumes the same fuel, while setTimeout still sleeps for real.
 * The wall clock is the real time at the start of the run plus the guest's elapsed virtual time.
 */
const NS_PER_READ = 1_000n; // 1 µs per read: time moves forward, never backwards, identically on every run

export class VirtualClock {
  private nowNs = 0n;
  private readonly startWallMs = Date.now();
  /** Targets of timers the guest waits on, with the real instant at which each is due. */
  private readonly pending: { virtualNs: bigint; realDueMs: number }[] = [];

  monotonicNow(): bigint {
    this.settleTimers();
    this.nowNs += NS_PER_READ;
    return this.nowNs;
  }

  wallNow(): { seconds: bigint; nanoseconds: number } {
    const ms = this.startWallMs + Number(this.monotonicNow() / 1_000_000n);
    return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
  }

  /** Registers a wait until `virtualNs`; returns how long it really takes, in ns. */
  waitUntil(virtualNs: bigint): bigint {
    const delta = virtualNs > this.nowNs ? virtualNs - this.nowNs : 0n;
    this.pending.push({ virtualNs, realDueMs: performance.now() + Number(delta / 1_000_000n) });
    return delta;
  }

  waitFor(durationNs: bigint): bigint {
    return this.waitUntil(this.nowNs + durationNs);
  }

  private settleTimers(): void {
    if (this.pending.length === 0) return;
    const realNow = performance.now();
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const timer = this.pending[i]!;
      if (timer.realDueMs <= realNow) {
        if (timer.virtualNs > this.nowNs) this.nowNs = timer.virtualNs;
        this.pending.splice(i, 1);
      }
    }
  }
}
