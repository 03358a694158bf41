/**
 * A directory's size quota, enforced where writes happen (GrantedFs), before they happen. Every run that may write
 * into the directory — the run, the sub-tasks it starts on other threads, the host's own session tools — holds the
 * same two counters in shared memory (bytes of regular files, entries of any kind), so a write is refused the moment
 * it would take the directory past either limit, however many writers there are: a reservation is an atomic add,
 * undone when it does not fit. Reserving before writing keeps what is on disk within what was reserved even when a
 * thread is terminated mid-write. The counters start from what the directory held when the run began
 * (DirectoryQuota.measure), so anything that drifted (a write cut short, files changed by hand) is corrected then.
 */
import { FsFailure } from './grant-roots.js';

/** What crosses to a sandbox thread in a job: the directory (its real path), its limits and the shared counters. */
export interface QuotaGrant {
  /** Real path of the directory the quota covers (everything below it counts). */
  place: string;
  maxBytes: number;
  maxEntries: number;
  /** Two BigInt64 counters: bytes used, entries used. */
  counters: SharedArrayBuffer;
  /** How refusals name the directory ("the session directory"). */
  label: string;
}

/** A write that would take a directory past its quota (the guest sees ENOSPC, the envelope a denial). */
export class QuotaExceeded extends FsFailure {
  constructor(message: string) {
    super('ENOSPC', message);
  }
}

const BYTES = 0;
const ENTRIES = 1;

export class QuotaLedger {
  private readonly counters: BigInt64Array;

  constructor(readonly grant: QuotaGrant) {
    this.counters = new BigInt64Array(grant.counters);
  }

  static counters(bytes: number, entries: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
    const counters = new BigInt64Array(buffer);
    counters[BYTES] = BigInt(bytes);
    counters[ENTRIES] = BigInt(entries);
    return buffer;
  }

  get used(): { bytes: number; entries: number } {
    return { bytes: Number(Atomics.load(this.counters, BYTES)), entries: Number(Atomics.load(this.counters, ENTRIES)) };
  }

  /** Whether `dir` (a real path) is the quota's directory or lies below it. */
  covers(dir: string): boolean {
    return dir === this.grant.place || dir.startsWith(`${this.grant.place}/`);
  }

  /**
   * Takes `bytes` and `entries` (either may be negative: a shrink gives room back at once) or throws QuotaExceeded
   * having taken nothing. A growth is refused only when it ends above a limit, so a directory already over its quota
   * (filled by hand) can still be cleaned up.
   */
  reserve(bytes: number, entries: number): void {
    const afterBytes = Atomics.add(this.counters, BYTES, BigInt(bytes)) + BigInt(bytes);
    const afterEntries = Atomics.add(this.counters, ENTRIES, BigInt(entries)) + BigInt(entries);
    const overBytes = bytes > 0 && afterBytes > BigInt(this.grant.maxBytes);
    const overEntries = entries > 0 && afterEntries > BigInt(this.grant.maxEntries);
    if (!overBytes && !overEntries) return;
    this.release(bytes, entries);
    const { label, maxBytes, maxEntries } = this.grant;
    throw new QuotaExceeded(
      overBytes
        ? `${label} is full: this write needs ${bytes} more bytes and the quota is ${maxBytes} bytes (${Number(afterBytes) - bytes} in use)`
        : `${label} is full: it may hold at most ${maxEntries} files and directories`,
    );
  }

  release(bytes: number, entries: number): void {
    Atomics.sub(this.counters, BYTES, BigInt(bytes));
    Atomics.sub(this.counters, ENTRIES, BigInt(entries));
  }
}

/** The ledgers covering one directory: a change there counts against all of them. */
export class Covering {
  constructor(readonly ledgers: readonly QuotaLedger[]) {}

  /** Reserves on every ledger or on none; returns the undo. */
  reserve(bytes: number, entries: number): () => void {
    const taken: QuotaLedger[] = [];
    try {
      for (const ledger of this.ledgers) {
        ledger.reserve(bytes, entries);
        taken.push(ledger);
      }
    } catch (error) {
      for (const ledger of taken) ledger.release(bytes, entries);
      throw error;
    }
    return () => {
      for (const ledger of taken) ledger.release(bytes, entries);
    };
  }

  release(bytes: number, entries: number): void {
    for (const ledger of this.ledgers) ledger.release(bytes, entries);
  }

  /** Runs a change that adds `bytes` and `entries`, reserved first and given back if it fails. */
  counted(bytes: number, entries: number, change: () => void): void {
    const undo = this.reserve(bytes, entries);
    try {
      change();
    } catch (error) {
      undo();
      throw error;
    }
  }

  same(other: Covering): boolean {
    return this.ledgers.length === other.ledgers.length && this.ledgers.every((ledger) => other.ledgers.includes(ledger));
  }
}

/** A run's quotas, as GrantedFs applies them: the ones covering a directory are found by where it really is. */
export class Quotas {
  constructor(private readonly ledgers: readonly QuotaLedger[]) {}

  get any(): boolean {
    return this.ledgers.length > 0;
  }

  /** The quotas covering the directory `dirPath` (what its descriptor's /proc link reads) lies in. */
  covering(dirPath: () => string): Covering {
    if (this.ledgers.length === 0) return NOTHING;
    const place = dirPath();
    return new Covering(this.ledgers.filter((ledger) => ledger.covers(place)));
  }
}

const NOTHING = new Covering([]);
