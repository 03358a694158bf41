/** Temporal connection settings: env over capsule.toml, the embedded default, and precise errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConnectionConfig, workflowUrl } from '../../src/client/config.js';

function dir(toml?: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'capsule-conn-'));
  if (toml !== undefined) writeFileSync(path.join(d, 'capsule.toml'), toml);
  return d;
}

describe('resolveConnectionConfig', () => {
  it('uses the embedded server when nothing is configured', () => {
    expect(resolveConnectionConfig(dir(), {})).toEqual({ configured: false, namespace: 'default', taskQueue: 'capsule' });
  });

  it('reads capsule.toml and lets environment variables win', () => {
    const d = dir('[temporal]\naddress = "toml.example:7233"\nnamespace = "from-toml"\ntask_queue = "q-toml"\n');
    expect(resolveConnectionConfig(d, {})).toMatchObject({ configured: true, address: 'toml.example:7233', namespace: 'from-toml', taskQueue: 'q-toml' });
    expect(resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_NAMESPACE: 'ns' })).toMatchObject({ address: 'env.example:7233', namespace: 'ns', taskQueue: 'q-toml' });
  });

  it('loads TLS files and an API key; Temporal Cloud gets its UI link', () => {
    const d = dir();
    writeFileSync(path.join(d, 'client.pem'), 'cert');
    writeFileSync(path.join(d, 'client.key'), 'key');
    const config = resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'my-ns.a1b2c', TEMPORAL_TLS_CERT: 'client.pem', TEMPORAL_TLS_KEY: 'client.key' });
    expect(config.tls).toEqual({ certPath: path.join(d, 'client.pem'), keyPath: path.join(d, 'client.key') });
    expect(workflowUrl(config, 'wf-1')).toBe('https://cloud.temporal.io/namespaces/my-ns.a1b2c/workflows/wf-1');
    expect(resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret' }).apiKey).toBe('secret');
  });

  it('names the variable or key and what was expected', () => {
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_ADDRESS: 'http://localhost' })).toThrow(/environment variable TEMPORAL_ADDRESS: got "http:\/\/localhost"; expected host:port/);
    const d = dir('[temporal]\naddress = "h:7233"\ntls_cert_path = "nope.pem"\n');
    expect(() => resolveConnectionConfig(d, {})).toThrow(/capsule\.toml \[temporal\]\.tls_cert_path: file "nope\.pem" not found/);
    const e = dir();
    writeFileSync(path.join(e, 'c.pem'), 'x');
    expect(() => resolveConnectionConfig(e, { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_TLS_CERT: 'c.pem' })).toThrow(/needs both a client certificate and key: set environment variable TEMPORAL_TLS_KEY/);
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_API_KEY: 'k' })).toThrow(/without an address: set TEMPORAL_ADDRESS/);
  });
});
