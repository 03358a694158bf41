/**
 * Task files bundled once and reused while nothing they were made from has changed. The host API and the exec
 * server run the same file again and again, and bundling it (esbuild, or reading a Python task's modules) was most of
 * a warm call's host-side time (docs/benchmarks.md, issue 17).
 *
 * An entry keeps the bundle and a stamp (inode, size, modification time) of every file the bundling read and of each
 * of their directories: adding a file beside them can change what an import resolves to, and it changes the
 * directory's stamp. A call that finds any stamp changed bundles again. A bundle made from a file modified while (or
 * just before) it was read is returned but not kept: a second change within the file system's timestamp resolution
 * would not show in the stamp.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { bundleTaskFileReading, type TaskBundle } from './bundle.js';

interface Entry {
  bundle: TaskBundle;
  stamps: Map<string, string>;
}

/** Modifications this recent (ms) when bundling starts make the result too young to keep. */
const SETTLE_MS = 2000;

export class BundleCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 64) {}

  /** The bundle of `file` (as given, relative to `cwd`): the cached one if nothing it was made from changed. */
  async bundle(file: string, cwd: string): Promise<TaskBundle> {
    // The name as given is part of the key: the bundle's entryFile names it in messages and records.
    const key = `${path.resolve(cwd, file)}\0${file}`;
    const cached = this.entries.get(key);
    if (cached && unchanged(cached.stamps)) {
      // Most recently used last: the first entry is the one to drop when the cache is full.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached.bundle;
    }
    this.entries.delete(key);
    const started = Date.now();
    const { bundle, read } = await bundleTaskFileReading(file, cwd);
    const stamps = stampsOf(read);
    if (stamps !== undefined && newestModification(stamps) < started - SETTLE_MS) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { bundle, stamps });
    }
    return bundle;
  }
}

function stampOf(target: string): string | undefined {
  try {
    const stat = statSync(target, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** Every read file and its directory, stamped; undefined if one vanished already (nothing to keep). */
function stampsOf(files: string[]): Map<string, string> | undefined {
  const stamps = new Map<string, string>();
  for (const target of [...files, ...files.map((file) => path.dirname(file))]) {
    if (stamps.has(target)) continue;
    const stamp = stampOf(target);
    if (stamp === undefined) return undefined;
    stamps.set(target, stamp);
  }
  return stamps;
}

function unchanged(stamps: Map<string, string>): boolean {
  for (const [target, stamp] of stamps) if (stampOf(target) !== stamp) return false;
  return true;
}

/** The latest modification or status change among the stamps, in ms since the epoch. */
function newestModification(stamps: Map<string, string>): number {
  let newest = 0;
  for (const stamp of stamps.values()) {
    const [, , mtimeNs, ctimeNs] = stamp.split(':');
    newest = Math.max(newest, Number(BigInt(mtimeNs!) / 1_000_000n), Number(BigInt(ctimeNs!) / 1_000_000n));
  }
  return newest;
}
