/**
 * Capsule's payload codecs, applied by the client and every worker (src/payloads/data-converter.ts) to each payload
 * on its way to the server, blobs included (the claim-check stores what the codecs produced):
 *
 * - compression: gzip, for payloads whose data exceeds a threshold, kept only when it is smaller;
 * - encryption: AES-256-GCM with a random 96-bit IV per payload and the key id as additional data.
 *
 * Each wraps the whole original payload (metadata and data, protobuf-encoded) as Temporal's samples do, so
 * decoding restores it exactly. Payloads a codec did not produce pass through decode unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS: its values come through the default import under Node's ESM.
import proto from '@temporalio/proto';
import { PayloadKeyError } from './errors.js';
import { PAYLOAD_KEY_VARIABLE, type Keyring } from './keyring.js';

const PayloadProto = proto.temporal.api.common.v1.Payload;
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const GZIP_ENCODING = 'binary/gzip';
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Level 1: on JSON 12.2 % of the input against level 6's 10.4 %, in half the time (docs/benchmarks.md). */
const GZIP_LEVEL = 1;

const text = (value: string) => Buffer.from(value);
export const encodingOf = (payload: Payload): string | undefined => {
  const raw = payload.metadata?.[METADATA_ENCODING_KEY];
  return raw === undefined || raw === null ? undefined : Buffer.from(raw).toString();
};
const serialize = (payload: Payload): Uint8Array => PayloadProto.encode(payload).finish();
const deserialize = (bytes: Uint8Array): Payload => PayloadProto.decode(bytes) as Payload;

export class CompressionCodec implements PayloadCodec {
  /** @param thresholdBytes payloads whose data is larger than this are compressed */
  constructor(private readonly thresholdBytes: number) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map(async (payload) => {
      if ((payload.data?.length ?? 0) <= this.thresholdBytes) return payload;
      const whole = serialize(payload);
      const compressed = await gzipAsync(whole, { level: GZIP_LEVEL });
      // Incompressible data (already compressed, random, encrypted) stays as it is.
      if (compressed.length >= whole.length) return payload;
      return { metadata: { [METADATA_ENCODING_KEY]: text(GZIP_ENCODING) }, data: compressed };
    }));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map(async (payload) => {
      if (encodingOf(payload) !== GZIP_ENCODING) return payload;
      return deserialize(await gunzipAsync(payload.data ?? new Uint8Array()));
    }));
  }
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.activeId;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(text(keyId));
      const sealed = Buffer.concat([iv, cipher.update(serialize(payload)), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: text(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: text(keyId), [CIPHER_METADATA]: text(CIPHER) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (encodingOf(payload) === ENCRYPTED_ENCODING ? this.decrypt(payload) : payload));
  }

  private decrypt(payload: Payload): Payload {
    const keyId = payloadKeyId(payload);
    const key = this.keyring.keys.get(keyId);
    if (key === undefined) {
      throw new PayloadKeyError(`a payload is encrypted with key id "${keyId}", which ${PAYLOAD_KEY_VARIABLE} does not hold (it has: ${[...this.keyring.keys.keys()].join(', ')}); add that key (after the active one) to decrypt it`);
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadKeyError(`a payload encrypted with key id "${keyId}" is truncated (${data.length} bytes)`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(text(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadKeyError(`cannot decrypt a payload encrypted with key id "${keyId}": the key ${PAYLOAD_KEY_VARIABLE} gives for "${keyId}" is not the one it was encrypted with (or the payload was altered)`);
    }
    return deserialize(plain);
  }
}

/**
 * Decoding where encryption is off: an encrypted payload is an error that says so, instead of reaching the payload
 * converter as unreadable bytes.
 */
export class RefuseEncryptedCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    for (const payload of payloads) {
      if (encodingOf(payload) === ENCRYPTED_ENCODING) {
        throw new PayloadKeyError(`a payload is encrypted (key id "${payloadKeyId(payload)}") but ${PAYLOAD_KEY_VARIABLE} is not set: set it to the key(s) the workers use`);
      }
    }
    return payloads;
  }
}

function payloadKeyId(payload: Payload): string {
  const raw = payload.metadata?.[KEY_ID_METADATA];
  return raw === undefined || raw === null ? '(none)' : Buffer.from(raw).toString();
}
