/**
 * Payload settings: capsule.toml `[payloads]`, with environment variables winning. Every value is checked here and
 * an error names the variable or key and what was expected; the result has every default applied.
 *
 *   [payloads]
 *   claim_check_threshold = "256KB"  # payloads larger than this go to the blob store (CAPSULE_CLAIM_CHECK_THRESHOLD)
 *   compression = true               # gzip payloads larger than compression_threshold
 *   compression_threshold = "32KB"
 *   store = ".capsule/blobs"         # a directory, or postgres://user@host/db (CAPSULE_BLOB_STORE)
 *   encrypt = false                  # true: refuse to run without CAPSULE_PAYLOAD_KEY
 *   retention = "7d"                 # capsule gc keeps blobs of runs closed this recently
 *   gc_grace = "1h"                  # and never deletes a blob touched this recently
 */
import path from 'node:path';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { DURATION_EXPECTED, formatBytes, parseBytes, parseDuration, RAM_EXPECTED } from '../config/units.js';
import { PayloadConfigError } from './errors.js';
import { parseKeyring, PAYLOAD_KEY_VARIABLE, type Keyring } from './keyring.js';

export const DEFAULT_CLAIM_CHECK_THRESHOLD = 256 * 1024;
/** Temporal refuses payloads over 2 MB: a larger threshold would let a payload through that the server rejects. */
export const MAX_CLAIM_CHECK_THRESHOLD = 1024 * 1024;
const MIN_CLAIM_CHECK_THRESHOLD = 1024;
export const DEFAULT_COMPRESSION_THRESHOLD = 32 * 1024;
export const DEFAULT_BLOB_DIR = path.join('.capsule', 'blobs');
const DEFAULT_RETENTION_MS = 7 * 86_400_000;
const DEFAULT_GC_GRACE_MS = 3_600_000;

export type StoreSettings = { kind: 'local'; dir: string } | { kind: 'postgres'; url: string };

export interface PayloadSettings {
  claimCheckThresholdBytes: number;
  /** undefined: compression off. */
  compressionThresholdBytes: number | undefined;
  store: StoreSettings;
  /** The encryption keys; undefined: payloads are not encrypted. */
  keyring: Keyring | undefined;
  retentionMs: number;
  gcGraceMs: number;
}

const ENV = {
  threshold: 'CAPSULE_CLAIM_CHECK_THRESHOLD',
  store: 'CAPSULE_BLOB_STORE',
} as const;

export function resolvePayloadSettings(cwd: string, env: Record<string, string | undefined> = process.env): PayloadSettings {
  const config = loadCapsuleConfig(cwd);
  const file = config.file ?? 'capsule.toml';
  const section = config.payloads;
  const fromEnv = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

  const thresholdEnv = fromEnv(ENV.threshold);
  const threshold = bytes(thresholdEnv ?? section.claim_check_threshold, DEFAULT_CLAIM_CHECK_THRESHOLD, thresholdEnv === undefined ? `${file} [payloads].claim_check_threshold` : `environment variable ${ENV.threshold}`);
  if (threshold < MIN_CLAIM_CHECK_THRESHOLD || threshold > MAX_CLAIM_CHECK_THRESHOLD) {
    const where = thresholdEnv === undefined ? `${file} [payloads].claim_check_threshold` : `environment variable ${ENV.threshold}`;
    throw new PayloadConfigError(`${where}: ${formatBytes(threshold)} is outside ${formatBytes(MIN_CLAIM_CHECK_THRESHOLD)}..${formatBytes(MAX_CLAIM_CHECK_THRESHOLD)} (Temporal refuses payloads over 2MB)`);
  }
  const compression = section.compression ?? true;
  const compressionThreshold = bytes(section.compression_threshold, DEFAULT_COMPRESSION_THRESHOLD, `${file} [payloads].compression_threshold`);

  const storeEnv = fromEnv(ENV.store);
  const store = parseStore(storeEnv ?? section.store ?? DEFAULT_BLOB_DIR, cwd, storeEnv === undefined ? `${file} [payloads].store` : `environment variable ${ENV.store}`);

  const keyText = fromEnv(PAYLOAD_KEY_VARIABLE);
  if (section.encrypt === true && keyText === undefined) {
    throw new PayloadConfigError(`${file} [payloads].encrypt is true but environment variable ${PAYLOAD_KEY_VARIABLE} is not set: set it to "[id:]key" (key: openssl rand -base64 32) on every client and worker`);
  }
  return {
    claimCheckThresholdBytes: threshold,
    compressionThresholdBytes: compression ? compressionThreshold : undefined,
    store,
    keyring: keyText === undefined ? undefined : parseKeyring(keyText),
    retentionMs: duration(section.retention, DEFAULT_RETENTION_MS, `${file} [payloads].retention`),
    gcGraceMs: duration(section.gc_grace, DEFAULT_GC_GRACE_MS, `${file} [payloads].gc_grace`),
  };
}

/** A directory (relative to the directory Capsule runs in) or a postgres:// URL. */
export function parseStore(value: string, cwd: string, where: string): StoreSettings {
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new PayloadConfigError(`${where}: "${value.replace(/:[^:@/]*@/, ':***@')}" is not a valid URL; expected postgres://user@host:5432/database`);
    }
    return { kind: 'postgres', url: value };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new PayloadConfigError(`${where}: "${value}" is not a store Capsule knows; expected a directory or a postgres:// URL`);
  }
  return { kind: 'local', dir: path.resolve(cwd, value) };
}

function bytes(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  const parsed = parseBytes(value);
  if (!parsed.ok) throw new PayloadConfigError(`${where}: got ${JSON.stringify(value)}; expected ${RAM_EXPECTED}`);
  return parsed.value;
}

function duration(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new PayloadConfigError(`${where}: got ${JSON.stringify(value)}; expected ${DURATION_EXPECTED} (or days, "7d")`);
  return parsed.value;
}
