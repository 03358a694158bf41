/**
 * Where claim-checked payloads live: content-addressed blobs (the address is the sha256 of the bytes). Writing a
 * blob that exists only refreshes its `touchedAt`, so `capsule gc`'s grace period always counts from the last time
 * a run referred to it. Two stores: a local directory (one machine) and PostgreSQL (shared by a cluster).
 */
export interface BlobInfo {
  address: string;
  size: number;
  touchedAt: Date;
}

export interface BlobStore {
  readonly kind: 'local' | 'postgres';
  /** Where the blobs are, for messages (a directory, or the database without its password). */
  readonly location: string;
  /** Stores `bytes` under `address` (its sha256), or refreshes the blob's touchedAt if it is there already. */
  put(address: string, bytes: Uint8Array): Promise<void>;
  /** The blob's bytes, or undefined if the store has no such blob. */
  get(address: string): Promise<Uint8Array | undefined>;
  list(): AsyncIterable<BlobInfo>;
  /** Deletes blobs (missing ones are ignored); returns how many were deleted. */
  delete(addresses: string[]): Promise<number>;
  close(): Promise<void>;
}

export const ADDRESS = /^[0-9a-f]{64}$/;
