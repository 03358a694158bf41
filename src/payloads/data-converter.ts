/**
 * The one place Capsule's DataConverter is built, from PayloadSettings, for clients and workers alike:
 * codecs [compression, encryption] on every payload, then the claim-check (the SDK's external storage, which
 * runs after the codecs) for payloads still above the threshold. Values in workflow and activity code are plain
 * values; what reaches the server is small, compressed and, with a key, ciphertext, and so is every blob.
 */
import { ExternalStorage, type DataConverter, type LoadedDataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { decodeFromPayloadsAtIndex, ExternalStorageRunner, isReferencePayload, decodeReferencePayload } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { BlobStore } from './blob-store.js';
import { ClaimCheckDriver, parseClaim, type BlobClaim } from './claim-check.js';
import { CompressionCodec, EncryptionCodec, RefuseEncryptedCodec } from './codecs.js';
import { LocalBlobStore } from './local-store.js';
import { PostgresBlobStore } from './postgres-store.js';
import type { PayloadSettings, StoreSettings } from './settings.js';

export interface PayloadLayer {
  settings: PayloadSettings;
  dataConverter: DataConverter;
  /** The codecs alone (no claim-check), in encoding order: what `capsule codec-server` applies. */
  codecs: PayloadCodec[];
  driver: ClaimCheckDriver;
  store: BlobStore;
  /** Closes the store's connections (PostgreSQL); the converter must not be used after. */
  close(): Promise<void>;
}

export function openStore(store: StoreSettings): BlobStore {
  return store.kind === 'local' ? new LocalBlobStore(store.dir) : new PostgresBlobStore(store.url);
}

export function openPayloadLayer(settings: PayloadSettings): PayloadLayer {
  const codecs: PayloadCodec[] = [];
  if (settings.compressionThresholdBytes !== undefined) codecs.push(new CompressionCodec(settings.compressionThresholdBytes));
  codecs.push(settings.keyring === undefined ? new RefuseEncryptedCodec() : new EncryptionCodec(settings.keyring));
  const store = openStore(settings.store);
  const driver = new ClaimCheckDriver(store);
  const externalStorage = new ExternalStorage({ drivers: [driver], payloadSizeThreshold: settings.claimCheckThresholdBytes });
  return {
    settings,
    dataConverter: { payloadCodecs: codecs, externalStorage },
    codecs,
    driver,
    store,
    close: () => store.close(),
  };
}

/**
 * Decodes one payload read from the server by hand (raw history events, pending activities' heartbeat details):
 * resolves a claim-check reference, runs the codecs backwards, converts. Use the client's loaded converter
 * (`client.options.loadedDataConverter`), so this decodes exactly as the SDK would.
 */
export async function decodePayload<T>(converter: LoadedDataConverter, payload: Payload): Promise<T> {
  const [resolved] = converter.externalStorage === undefined ? [payload] : await new ExternalStorageRunner(converter.externalStorage).retrieve([payload]);
  return decodeFromPayloadsAtIndex<T>(converter, 0, [resolved!]);
}

/** The blob a payload refers to, if it is a claim-check reference (history holds these instead of large values). */
export function claimOf(payload: Payload): BlobClaim | undefined {
  if (!isReferencePayload(payload)) return undefined;
  return parseClaim(decodeReferencePayload(payload).claimData);
}
