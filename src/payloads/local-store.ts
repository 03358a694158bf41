/**
 * Blobs as files: <dir>/<first two hex>/<sha256>. Writes go to a temporary file renamed into place, so a reader
 * never sees half a blob and concurrent writers of the same blob (same bytes) both succeed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ADDRESS, type BlobInfo, type BlobStore } from './blob-store.js';

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local';

  constructor(readonly location: string) {}

  private file(address: string): string {
    if (!ADDRESS.test(address)) throw new Error(`not a blob address: "${address}"`);
    return path.join(this.location, address.slice(0, 2), address);
  }

  async put(address: string, bytes: Uint8Array): Promise<void> {
    const file = this.file(address);
    const now = new Date();
    try {
      await utimes(file, now, now);
      return;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, file);
  }

  async get(address: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.file(address));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    let shards: string[];
    try {
      shards = await readdir(this.location);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const shard of shards.filter((name) => /^[0-9a-f]{2}$/.test(name)).sort()) {
      for (const name of (await readdir(path.join(this.location, shard))).sort()) {
        if (!ADDRESS.test(name)) continue;
        const info = await stat(path.join(this.location, shard, name)).catch(() => undefined);
        if (info !== undefined) yield { address: name, size: info.size, touchedAt: info.mtime };
      }
    }
  }

  async delete(addresses: string[]): Promise<number> {
    let deleted = 0;
    for (const address of addresses) {
      try {
        await rm(this.file(address));
        deleted++;
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {}
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
