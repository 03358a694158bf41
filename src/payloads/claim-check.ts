/**
 * The claim-check: a Temporal external-storage driver (the SDK's `ExternalStorage`, which runs after the payload
 * codecs) over a content-addressed BlobStore. A payload above the threshold is stored whole — as the codecs left it,
 * so compressed and, with a key, encrypted — and history keeps a small reference whose claim names the blob:
 * `{ sha256, size, media_type }` (media_type: the stored payload's encoding, e.g. "json/plain" or
 * "binary/encrypted"). Reading checks the blob's sha256 before anything decodes it.
 */
import { createHash } from 'node:crypto';
import { StorageDriverClaim, type Payload, type StorageDriver } from '@temporalio/common';
// @temporalio/proto is CommonJS: its values come through the default import under Node's ESM.
import proto from '@temporalio/proto';
import { formatBytes } from '../config/units.js';
import type { BlobStore } from './blob-store.js';
import { encodingOf } from './codecs.js';
import { BlobStoreError } from './errors.js';

const PayloadProto = proto.temporal.api.common.v1.Payload;

/** One name whatever the store: references stay valid when blobs move from one store to another. */
export const CLAIM_CHECK_DRIVER = 'capsule.blobs';
/** Recently stored or read blobs kept in memory: a worker usually reads back what it just wrote (replays). */
const CACHE_BYTES = 64 * 1024 * 1024;
const CACHE_MAX_ITEM_BYTES = 16 * 1024 * 1024;

export interface BlobClaim {
  sha256: string;
  size: number;
  media_type: string;
}

export class ClaimCheckDriver implements StorageDriver {
  readonly name = CLAIM_CHECK_DRIVER;
  readonly type: string;
  private readonly cache = new Map<string, Uint8Array>();
  private cachedBytes = 0;

  constructor(readonly blobs: BlobStore) {
    this.type = `capsule.${blobs.kind}`;
  }

  async store(_context: unknown, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    return Promise.all(payloads.map(async (payload) => {
      const bytes = PayloadProto.encode(payload).finish();
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await this.blobs.put(sha256, bytes);
      this.remember(sha256, bytes);
      const claim: BlobClaim = { sha256, size: bytes.length, media_type: encodingOf(payload) ?? 'binary/unknown' };
      return new StorageDriverClaim({ sha256, size: String(claim.size), media_type: claim.media_type });
    }));
  }

  async retrieve(_context: unknown, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return Promise.all(claims.map(async (claim) => PayloadProto.decode(await this.fetch(parseClaim(claim.claimData))) as Payload));
  }

  /** The stored bytes of a blob (the codec-encoded payload), checked against its address. */
  async fetch(claim: BlobClaim): Promise<Uint8Array> {
    const cached = this.cache.get(claim.sha256);
    if (cached !== undefined) {
      // Most recently used last.
      this.cache.delete(claim.sha256);
      this.cache.set(claim.sha256, cached);
      return cached;
    }
    const bytes = await this.blobs.get(claim.sha256);
    if (bytes === undefined) {
      throw new BlobStoreError(
        `blob ${claim.sha256} (${formatBytes(claim.size)}, ${claim.media_type}) is not in the ${this.blobs.kind} blob store at ${this.blobs.location}: ` +
          'it was removed by `capsule gc`, or this process uses a different store than the one that wrote it (see docs/deployment.md, "Payloads and blobs")',
      );
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== claim.sha256) throw new BlobStoreError(`blob ${claim.sha256} in ${this.blobs.location} is corrupt: its content hashes to ${actual}`);
    this.remember(claim.sha256, bytes);
    return bytes;
  }

  private remember(address: string, bytes: Uint8Array): void {
    if (bytes.length > CACHE_MAX_ITEM_BYTES || this.cache.has(address)) return;
    this.cache.set(address, bytes);
    this.cachedBytes += bytes.length;
    for (const [oldest, value] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES) break;
      this.cache.delete(oldest);
      this.cachedBytes -= value.length;
    }
  }
}

/** A reference's claim data, validated (it comes from history, which any client can write to). */
export function parseClaim(data: Record<string, string>): BlobClaim {
  const { sha256, size, media_type: mediaType } = data;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new BlobStoreError(`a claim-check reference has no valid sha256 (${JSON.stringify(data)})`);
  return { sha256, size: Number(size ?? 0), media_type: mediaType ?? 'binary/unknown' };
}
