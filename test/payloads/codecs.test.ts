/** Payload codecs, keys and settings in isolation: round trips, rotation, wrong keys, and the errors users see. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { CompressionCodec, EncryptionCodec, RefuseEncryptedCodec } from '../../src/payloads/codecs.js';
import { PayloadConfigError, PayloadKeyError } from '../../src/payloads/errors.js';
import { parseKeyring } from '../../src/payloads/keyring.js';
import { DEFAULT_CLAIM_CHECK_THRESHOLD, resolvePayloadSettings } from '../../src/payloads/settings.js';

const key = () => randomBytes(32).toString('base64');
const json = (value: unknown): Payload => ({ metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain'), extra: Buffer.from('kept') }, data: Buffer.from(JSON.stringify(value)) });
const text = (p: Payload) => Buffer.from(p.data ?? new Uint8Array()).toString();
const encoding = (p: Payload) => Buffer.from(p.metadata?.[METADATA_ENCODING_KEY] ?? new Uint8Array()).toString();

describe('CAPSULE_PAYLOAD_KEY', () => {
  it('reads "[id:]key" entries: the first encrypts, ids are derived for bare keys', () => {
    const [a, b] = [key(), key()];
    const ring = parseKeyring(`new:${a}, ${b}`);
    expect(ring.activeId).toBe('new');
    expect([...ring.keys.keys()]).toEqual(['new', expect.stringMatching(/^k-[0-9a-f]{8}$/)]);
    expect(parseKeyring(b).activeId).toBe([...ring.keys.keys()][1]);
  });

  it('names the entry and what is wrong', () => {
    expect(() => parseKeyring(`a:${key()},`)).toThrow(/entry 2 is empty/);
    expect(() => parseKeyring('a:not base64!')).toThrow(/entry 1: the key is not base64/);
    expect(() => parseKeyring(`a:${randomBytes(16).toString('base64')}`)).toThrow(/entry 1: the key is 16 bytes; AES-256 needs 32 \(e\.g\. from: openssl rand -base64 32\)/);
    expect(() => parseKeyring(`a:${key()},a:${key()}`)).toThrow(/key id "a" is listed twice/);
    expect(() => parseKeyring(`bad id:${key()}`)).toThrow(/key id "bad id" must be/);
    expect(() => parseKeyring('x')).toThrow(PayloadConfigError);
  });
});

describe('compression', () => {
  const codec = new CompressionCodec(1024);
  it('gzips payloads over the threshold and restores them exactly, metadata included', async () => {
    const big = json({ text: 'word '.repeat(10_000) });
    const [encoded] = await codec.encode([big]);
    expect(encoding(encoded!)).toBe('binary/gzip');
    expect(encoded!.data!.length).toBeLessThan(big.data!.length / 10);
    const [decoded] = await codec.decode([encoded!]);
    expect(text(decoded!)).toBe(text(big));
    expect(Buffer.from(decoded!.metadata!.extra!).toString()).toBe('kept');
  });

  it('leaves small and incompressible payloads as they are', async () => {
    const small = json('short');
    const noise: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('binary/plain') }, data: randomBytes(64 * 1024) };
    expect(await codec.encode([small, noise])).toEqual([small, noise]);
  });
});

describe('encryption', () => {
  const [k1, k2] = [key(), key()];
  const old = new EncryptionCodec(parseKeyring(`k1:${k1}`));
  const rotated = new EncryptionCodec(parseKeyring(`k2:${k2},k1:${k1}`));

  it('encrypts every payload (no plaintext left) and decrypts with the key its id names, after rotation too', async () => {
    const secret = json({ card: '4111-1111-1111-1111' });
    const [sealed] = await old.encode([secret]);
    expect(encoding(sealed!)).toBe('binary/encrypted');
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    expect(Buffer.from(sealed!.data!).includes('4111')).toBe(false);
    // Two encryptions of one value differ (random IV).
    expect(Buffer.from((await old.encode([secret]))[0]!.data!).equals(Buffer.from(sealed!.data!))).toBe(false);
    expect(text((await rotated.decode([sealed!]))[0]!)).toBe(text(secret));
    const [resealed] = await rotated.encode([secret]);
    expect(Buffer.from(resealed!.metadata!['encryption-key-id']!).toString()).toBe('k2');
  });

  it('fails clearly with a missing key, a wrong key, an altered payload, or no key at all', async () => {
    const [sealed] = await rotated.encode([json('x')]);
    await expect(old.decode([sealed!])).rejects.toThrow(/encrypted with key id "k2", which CAPSULE_PAYLOAD_KEY does not hold \(it has: k1\)/);
    const impostor = new EncryptionCodec(parseKeyring(`k2:${key()}`));
    await expect(impostor.decode([sealed!])).rejects.toThrow(/cannot decrypt a payload encrypted with key id "k2": the key CAPSULE_PAYLOAD_KEY gives for "k2" is not the one/);
    const altered = { ...sealed!, data: Buffer.from(sealed!.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(rotated.decode([altered])).rejects.toThrow(PayloadKeyError);
    await expect(new RefuseEncryptedCodec().decode([sealed!])).rejects.toThrow(/is encrypted \(key id "k2"\) but CAPSULE_PAYLOAD_KEY is not set/);
  });
});

describe('[payloads] settings', () => {
  const dir = (toml?: string) => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'capsule-settings-'));
    if (toml !== undefined) writeFileSync(path.join(d, 'capsule.toml'), toml);
    return d;
  };

  it('has defaults: 256KB claim-check, gzip, .capsule/blobs in the directory Capsule runs in, no encryption', () => {
    const d = dir();
    expect(resolvePayloadSettings(d, {})).toMatchObject({ claimCheckThresholdBytes: DEFAULT_CLAIM_CHECK_THRESHOLD, compressionThresholdBytes: 32 * 1024, store: { kind: 'local', dir: path.join(d, '.capsule', 'blobs') }, keyring: undefined });
  });

  it('takes capsule.toml, with environment variables winning', () => {
    const d = dir('[payloads]\nclaim_check_threshold = "64KB"\ncompression = false\nstore = "/srv/blobs"\nretention = "30d"\n');
    expect(resolvePayloadSettings(d, {})).toMatchObject({ claimCheckThresholdBytes: 64 * 1024, compressionThresholdBytes: undefined, store: { kind: 'local', dir: '/srv/blobs' }, retentionMs: 30 * 86_400_000 });
    const env = { CAPSULE_BLOB_STORE: 'postgres://capsule@db:5432/blobs', CAPSULE_CLAIM_CHECK_THRESHOLD: '512KB', CAPSULE_PAYLOAD_KEY: `k:${key()}` };
    expect(resolvePayloadSettings(d, env)).toMatchObject({ claimCheckThresholdBytes: 512 * 1024, store: { kind: 'postgres', url: env.CAPSULE_BLOB_STORE }, keyring: { activeId: 'k' } });
  });

  it('refuses bad values, naming the variable or key', () => {
    expect(() => resolvePayloadSettings(dir(), { CAPSULE_CLAIM_CHECK_THRESHOLD: '4MB' })).toThrow(/environment variable CAPSULE_CLAIM_CHECK_THRESHOLD: 4MB is outside 1KB\.\.1MB \(Temporal refuses payloads over 2MB\)/);
    expect(() => resolvePayloadSettings(dir('[payloads]\nclaim_check_threshold = "lots"\n'), {})).toThrow(/\[payloads\]\.claim_check_threshold: got "lots"; expected a size/);
    expect(() => resolvePayloadSettings(dir(), { CAPSULE_BLOB_STORE: 's3://bucket/x' })).toThrow(/environment variable CAPSULE_BLOB_STORE: "s3:\/\/bucket\/x" is not a store Capsule knows/);
    expect(() => resolvePayloadSettings(dir('[payloads]\nencrypt = true\n'), {})).toThrow(/\[payloads\]\.encrypt is true but environment variable CAPSULE_PAYLOAD_KEY is not set/);
    expect(() => resolvePayloadSettings(dir('[payloads]\nkey = "x"\n'), {})).toThrow(/unknown key\(s\) "payloads\.key"/);
    expect(() => resolvePayloadSettings(dir(), { CAPSULE_PAYLOAD_KEY: 'short' })).toThrow(/environment variable CAPSULE_PAYLOAD_KEY, entry 1/);
  });
});
