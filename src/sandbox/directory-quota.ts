/**
 * A size quota on a directory a run may write to (an MCP session's scratch directory): at most so many bytes of
 * files and so many entries. Measured from disk when a run (or a batch of host-side writes) starts, then enforced
 * at every write by the sandbox threads and the host alike (host/quota-ledger.ts), through counters they share.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { QuotaLedger, type QuotaGrant } from './host/quota-ledger.js';

export interface QuotaLimits {
  /** Bytes of regular files the directory may hold. */
  maxBytes: number;
  /** Files, directories and anything else it may hold. */
  maxEntries: number;
}

/** Deeper trees than this are not walked further when measuring (the sandbox never makes one; nor would a person). */
const MAX_MEASURE_DEPTH = 256;

export class DirectoryQuota {
  private constructor(readonly grant: QuotaGrant) {}

  /**
   * What `directory` (an existing directory; links in its own path are the operator's) holds now, walked without
   * following any link, as the starting point of a quota. `label` names it in refusals ("the session directory").
   */
  static measure(directory: string, limits: QuotaLimits & { label: string }): DirectoryQuota {
    const place = fs.realpathSync(directory);
    const used = { bytes: 0, entries: 0 };
    // Stop counting once far over the limit: the answer (full) no longer changes and a huge tree would take long.
    const enough = () => used.entries > limits.maxEntries + 1 && used.bytes > limits.maxBytes;
    const walk = (dir: string, depth: number) => {
      if (depth > MAX_MEASURE_DEPTH || enough()) return;
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        used.entries++;
        const child = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(child, depth + 1);
        else if (entry.isFile()) used.bytes += fs.lstatSync(child).size;
        if (enough()) return;
      }
    };
    walk(place, 0);
    return new DirectoryQuota({ place, maxBytes: limits.maxBytes, maxEntries: limits.maxEntries, label: limits.label, counters: QuotaLedger.counters(used.bytes, used.entries) });
  }

  /** What the directory holds, counting every write made under this quota since it was measured. */
  get used(): { bytes: number; entries: number } {
    return new QuotaLedger(this.grant).used;
  }
}
