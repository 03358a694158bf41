/**
 * Temporal connection settings, the Temporal way: a temporal.toml profile (@temporalio/envconfig) as the base,
 * capsule.toml [temporal] on top, the standard TEMPORAL_* variables over both; one resolution that clients and
 * workers both connect with; errors that name the file, key or variable that set a bad value.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { resolveConnectionConfig, workflowUrl } from '../../src/client/config.js';
import { connectClient, connectWorker } from '../../src/client/connect.js';

function dir(toml?: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'capsule-conn-'));
  if (toml !== undefined) writeFileSync(path.join(d, 'capsule.toml'), toml);
  return d;
}

/** A temporal.toml in `d`, and the environment that points envconfig at it. */
function profiles(d: string, text: string): { TEMPORAL_CONFIG_FILE: string } {
  const file = path.join(d, 'temporal.toml');
  writeFileSync(file, text);
  return { TEMPORAL_CONFIG_FILE: file };
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

  it('starts from a temporal.toml profile: capsule.toml on top, the environment over both', () => {
    const d = dir('[temporal]\nnamespace = "from-capsule-toml"\n');
    const env = profiles(d, '[profile.default]\naddress = "profile.example:7233"\nnamespace = "from-profile"\n[profile.default.grpc_meta]\nx-team = "agents"\n\n[profile.staging]\naddress = "staging.example:7233"\n');
    expect(resolveConnectionConfig(d, env)).toMatchObject({ configured: true, address: 'profile.example:7233', namespace: 'from-capsule-toml', grpcMeta: { 'x-team': 'agents' } });
    expect(resolveConnectionConfig(d, { ...env, TEMPORAL_ADDRESS: 'env.example:7233' })).toMatchObject({ address: 'env.example:7233', namespace: 'from-capsule-toml' });
    // The profile: TEMPORAL_PROFILE, else capsule.toml's [temporal].profile.
    expect(resolveConnectionConfig(d, { ...env, TEMPORAL_PROFILE: 'staging' }).address).toBe('staging.example:7233');
    const e = dir('[temporal]\nprofile = "staging"\n');
    expect(resolveConnectionConfig(e, profiles(e, '[profile.staging]\naddress = "staging.example:7233"\n')).address).toBe('staging.example:7233');
    // The user's own file, where Temporal's tools keep it.
    const home = dir();
    mkdirSync(path.join(home, 'temporalio'));
    writeFileSync(path.join(home, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "home.example:7233"\n');
    expect(resolveConnectionConfig(dir(), { XDG_CONFIG_HOME: home }).address).toBe('home.example:7233');
  });

  it('reads TLS the standard way: files or inline PEM, an API key turns TLS on, TEMPORAL_TLS=false turns it off', () => {
    const d = dir();
    writeFileSync(path.join(d, 'client.pem'), 'cert');
    writeFileSync(path.join(d, 'client.key'), 'key');
    const config = resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'my-ns.a1b2c', TEMPORAL_TLS_CLIENT_CERT_PATH: 'client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: 'client.key' });
    expect(config.tls).toEqual({ clientCert: { path: path.join(d, 'client.pem') }, clientKey: { path: path.join(d, 'client.key') } });
    expect(workflowUrl(config, 'wf-1')).toBe('https://cloud.temporal.io/namespaces/my-ns.a1b2c/workflows/wf-1');
    expect(resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret' })).toMatchObject({ apiKey: 'secret', tls: {} });
    expect(resolveConnectionConfig(d, { TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_API_KEY: 'secret', TEMPORAL_TLS: 'false' }).tls).toBeUndefined();
    const env = profiles(d, '[profile.default]\naddress = "h:7233"\n[profile.default.tls]\nclient_cert_data = "CERT PEM"\nclient_key_data = "KEY PEM"\nserver_name = "h.internal"\n');
    expect(resolveConnectionConfig(d, env).tls).toEqual({ clientCert: { data: 'CERT PEM' }, clientKey: { data: 'KEY PEM' }, serverName: 'h.internal' });
    // capsule.toml's own keys still work, relative to the project.
    const t = dir('[temporal]\naddress = "h:7233"\ntls_cert_path = "client.pem"\ntls_key_path = "client.key"\n');
    writeFileSync(path.join(t, 'client.pem'), 'cert');
    writeFileSync(path.join(t, 'client.key'), 'key');
    expect(resolveConnectionConfig(t, {}).tls).toEqual({ clientCert: { path: path.join(t, 'client.pem') }, clientKey: { path: path.join(t, 'client.key') } });
  });

  it('names the variable, key or profile that set a bad value, and what was expected', () => {
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_ADDRESS: 'http://localhost' })).toThrow(/environment variable TEMPORAL_ADDRESS: got "http:\/\/localhost"; expected host:port/);
    const p = dir();
    const env = profiles(p, '[profile.default]\naddress = "grpc://h:7233"\n');
    expect(() => resolveConnectionConfig(p, env)).toThrow(`${env.TEMPORAL_CONFIG_FILE} [profile.default] address: got "grpc://h:7233"; expected host:port`);
    const d = dir('[temporal]\naddress = "h:7233"\ntls_cert_path = "nope.pem"\ntls_key_path = "nope.key"\n');
    expect(() => resolveConnectionConfig(d, {})).toThrow(/capsule\.toml \[temporal\]\.tls_cert_path: file "nope\.pem" not found/);
    const e = dir();
    writeFileSync(path.join(e, 'c.pem'), 'x');
    expect(() => resolveConnectionConfig(e, { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_TLS_CLIENT_CERT_PATH: 'c.pem' })).toThrow('TLS needs both a client certificate and key: environment variable TEMPORAL_TLS_CLIENT_CERT_PATH sets one, so set the client key');
    expect(() => resolveConnectionConfig(e, { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_NAME: 'h' })).toThrow('environment variable TEMPORAL_TLS turns TLS off, but environment variable TEMPORAL_TLS_SERVER_NAME sets TLS material');
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_API_KEY: 'k' })).toThrow(/\(environment variable TEMPORAL_API_KEY\) without an address: set TEMPORAL_ADDRESS/);
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_TLS_CERT: 'c.pem' })).toThrow('environment variable TEMPORAL_TLS_CERT is not read: use TEMPORAL_TLS_CLIENT_CERT_PATH');
    expect(() => resolveConnectionConfig(p, { ...env, TEMPORAL_PROFILE: 'prod' })).toThrow(`${env.TEMPORAL_CONFIG_FILE} (profile "prod" from environment variable TEMPORAL_PROFILE): Profile 'prod' not found`);
    expect(() => resolveConnectionConfig(dir('[temporal]\nprofile = "prod"\n'), {})).toThrow(/\[temporal\]\.profile: profile "prod" asked for, but there is no Temporal configuration file/);
    expect(() => resolveConnectionConfig(dir(), { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' })).toThrow('environment variable TEMPORAL_CONFIG_FILE: file "/nonexistent/temporal.toml" not found');
    const s = dir();
    const strict = profiles(s, '[profile.default]\nadress = "h:7233"\n');
    expect(() => resolveConnectionConfig(s, strict)).toThrow(`${strict.TEMPORAL_CONFIG_FILE}: key(s) unrecognized in profile.default: adress`);
  });
});

describe('one resolution for clients and workers', () => {
  it('connects a client and a worker connection from a temporal.toml profile', async () => {
    const d = dir();
    const config = resolveConnectionConfig(d, profiles(d, `[profile.default]\naddress = "${inject('temporalAddress')}"\nnamespace = "default"\n`));
    const client = await connectClient(config, config.address!, {});
    try {
      expect((await client.workflowService.getSystemInfo({})).serverVersion).toBeTruthy();
    } finally {
      await client.connection.close();
    }
    const worker = await connectWorker(config, config.address!);
    try {
      expect((await worker.healthService.check({})).status).toBe(1);
    } finally {
      await worker.close();
    }
  });
});
