/** Failures of Capsule's payload layer (settings, keys, blob store), each a user-fixable error with a stable name. */
import { CapsuleError } from '../errors.js';

/** capsule.toml [payloads] or a CAPSULE_* variable has a bad value; the message names the key and what was expected. */
export class PayloadConfigError extends CapsuleError {
  override readonly name = 'PayloadConfigError';
}

/**
 * A payload cannot be decrypted: no key for its key id, a wrong key, or encryption is off where a payload is
 * encrypted. The message names the key id and the variable to fix (CAPSULE_PAYLOAD_KEY).
 */
export class PayloadKeyError extends CapsuleError {
  override readonly name = 'PayloadKeyError';
}

/** A blob named by a claim-check reference is missing from the store, or its content does not match its address. */
export class BlobStoreError extends CapsuleError {
  override readonly name = 'BlobStoreError';
}
