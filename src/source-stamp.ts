/**
 * A cheap fingerprint of a source tree: the path, size and modification time of every file with one of the given
 * extensions, in a stable order. Stat calls only (a few milliseconds for Capsule's sources), so a process can tell
 * whether something it derived from the sources earlier (a bundled thread script, a resident server) still matches
 * them without deriving it again.
 */
import type { Hash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function stampTree(hash: Hash, dir: string, extensions: readonly string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== '__pycache__') stampTree(hash, full, extensions);
    } else if (extensions.some((extension) => entry.name.endsWith(extension))) {
      const stat = statSync(full);
      hash.update(`${full} ${stat.size} ${stat.mtimeMs}\n`);
    }
  }
}
