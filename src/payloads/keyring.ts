/**
 * The payload encryption keys, from CAPSULE_PAYLOAD_KEY: a comma-separated list of `[id:]key` entries, each key the
 * base64 of 32 random bytes (`openssl rand -base64 32`). The first key encrypts; every listed key decrypts, found by
 * the key id each payload names. Rotation: put the new key first and keep the old ones until nothing encrypted
 * with them is still needed. An entry without an id gets one derived from the key (`k-` + 8 hex of its sha256), so
 * bare keys rotate too.
 */
import { createHash } from 'node:crypto';
import { PayloadConfigError } from './errors.js';

export const PAYLOAD_KEY_VARIABLE = 'CAPSULE_PAYLOAD_KEY';
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface Keyring {
  /** The key id new payloads are encrypted with (the first entry). */
  activeId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export function parseKeyring(text: string, where = `environment variable ${PAYLOAD_KEY_VARIABLE}`): Keyring {
  const entries = text.split(',').map((entry) => entry.trim());
  const keys = new Map<string, Buffer>();
  for (const [i, entry] of entries.entries()) {
    const at = `${where}, entry ${i + 1}`;
    if (entry === '') throw new PayloadConfigError(`${at} is empty; expected "[id:]key" entries separated by commas`);
    const colon = entry.indexOf(':');
    const id = colon === -1 ? undefined : entry.slice(0, colon);
    const encoded = colon === -1 ? entry : entry.slice(colon + 1);
    if (id !== undefined && !KEY_ID.test(id)) {
      throw new PayloadConfigError(`${at}: key id "${id}" must be 1-64 letters, digits, ".", "_" or "-"`);
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
      throw new PayloadConfigError(`${at}: the key is not base64; expected the base64 of ${KEY_BYTES} random bytes (e.g. from: openssl rand -base64 32)`);
    }
    const key = Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64');
    if (key.length !== KEY_BYTES) {
      throw new PayloadConfigError(`${at}: the key is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (e.g. from: openssl rand -base64 32)`);
    }
    const keyId = id ?? `k-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
    if (keys.has(keyId)) throw new PayloadConfigError(`${at}: key id "${keyId}" is listed twice`);
    keys.set(keyId, key);
  }
  return { activeId: keys.keys().next().value!, keys };
}
