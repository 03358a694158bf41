/**
 * Where the Temporal server is and how to reach it — one resolution for clients and workers. Three layers, the
 * later winning field by field: a temporal.toml profile (Temporal's environment configuration, shared with the
 * CLI and the other SDKs), the project's capsule.toml `[temporal]`, then the standard TEMPORAL_* environment
 * variables (connection-layers.ts). With no address anywhere, Capsule uses its embedded dev server. Every error
 * names the file, key or variable that set the value and what was expected.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { parseHostAndPort } from '../config/host-pattern.js';
import { ConnectionConfigError } from './errors.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../workflows/shared.js';
import { capsuleTomlLayer, environmentLayer, profileLayer, type DataSource, type Layer, type Setting } from './connection-layers.js';

export { ConnectionConfigError } from './errors.js';
export type { DataSource } from './connection-layers.js';

/** TLS to the server: present means on. Certificates and keys as files (absolute paths) or inline PEM text. */
export interface TlsSettings {
  clientCert?: DataSource;
  clientKey?: DataSource;
  serverCa?: DataSource;
  serverName?: string;
}

export interface ConnectionConfig {
  /** True when an address came from a profile, capsule.toml or the environment (no embedded server then). */
  configured: boolean;
  address?: string;
  /** Where the address was set (a variable, a file and key), for messages. */
  addressFrom?: string;
  namespace: string;
  taskQueue: string;
  tls?: TlsSettings;
  apiKey?: string;
  /** gRPC metadata sent with every call (temporal.toml `grpc_meta`, TEMPORAL_GRPC_META_*). */
  grpcMeta?: Record<string, string>;
  uiUrl?: string;
}

export function resolveConnectionConfig(cwd: string, env: Record<string, string | undefined> = process.env): ConnectionConfig {
  const file = loadCapsuleConfig(cwd);
  const toml = capsuleTomlLayer(file.temporal, file.file);
  const tomlProfile = file.temporal.profile === undefined ? undefined : { value: file.temporal.profile, from: `${file.file ?? 'capsule.toml'} [temporal].profile` };
  const layers: Layer[] = [profileLayer(env, tomlProfile), toml, environmentLayer(env)];
  const pick = <K extends keyof Layer>(key: K): Layer[K] => layers.reduce<Layer[K]>((found, layer) => layer[key] ?? found, undefined);

  const address = pick('address');
  if (address !== undefined && !parseHostAndPort(address.value).ok) {
    throw new ConnectionConfigError(`${address.from}: got "${address.value}"; expected host:port such as "127.0.0.1:7233" or "my-ns.a1b2c.tmprl.cloud:7233"`);
  }
  const tls = resolveTls(cwd, pick('tls'), pick('clientCert'), pick('clientKey'), pick('serverCa'), pick('serverName'), pick('apiKey'));
  const apiKey = pick('apiKey');
  if (address === undefined && (tls !== undefined || apiKey !== undefined)) {
    throw new ConnectionConfigError(`TLS or API key settings were given (${(apiKey ?? pick('clientCert') ?? pick('tls'))?.from}) without an address: set TEMPORAL_ADDRESS, [temporal].address in capsule.toml, or address in a temporal.toml profile`);
  }
  const grpcMeta = pick('grpcMeta');
  const uiUrl = pick('uiUrl');
  return {
    configured: address !== undefined,
    ...(address === undefined ? {} : { address: address.value, addressFrom: address.from }),
    namespace: pick('namespace')?.value ?? DEFAULT_NAMESPACE,
    taskQueue: pick('taskQueue')?.value ?? DEFAULT_TASK_QUEUE,
    ...(tls === undefined ? {} : { tls }),
    ...(apiKey === undefined ? {} : { apiKey: apiKey.value }),
    ...(grpcMeta === undefined ? {} : { grpcMeta: grpcMeta.value }),
    ...(uiUrl === undefined ? {} : { uiUrl: uiUrl.value.replace(/\/+$/, '') }),
  };
}

/** TLS is on when asked for, when any certificate or server name is set, or with an API key — unless turned off. */
function resolveTls(
  cwd: string,
  enabled: Setting<boolean> | undefined,
  cert: Setting<DataSource> | undefined,
  key: Setting<DataSource> | undefined,
  ca: Setting<DataSource> | undefined,
  serverName: Setting<string> | undefined,
  apiKey: Setting<string> | undefined,
): TlsSettings | undefined {
  if ((cert === undefined) !== (key === undefined)) {
    const [given, missing] = cert === undefined ? [key!, 'client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or [temporal].tls_cert_path)'] : [cert, 'client key (TEMPORAL_TLS_CLIENT_KEY_PATH or [temporal].tls_key_path)'];
    throw new ConnectionConfigError(`TLS needs both a client certificate and key: ${given.from} sets one, so set the ${missing}`);
  }
  const material = [cert, key, ca, serverName].find((s) => s !== undefined);
  if (enabled?.value === false) {
    if (material !== undefined) throw new ConnectionConfigError(`${enabled.from} turns TLS off, but ${material.from} sets TLS material: remove one of them`);
    return undefined;
  }
  if (enabled === undefined && material === undefined && apiKey === undefined) return undefined;
  const file = (s: Setting<DataSource> | undefined): DataSource | undefined => {
    if (s === undefined || !('path' in s.value)) return s?.value;
    const full = path.resolve(cwd, s.value.path);
    if (!existsSync(full)) throw new ConnectionConfigError(`${s.from}: file "${s.value.path}" not found (looked for ${full})`);
    return { path: full };
  };
  const [clientCert, clientKey, serverCa] = [file(cert), file(key), file(ca)];
  return {
    ...(clientCert === undefined ? {} : { clientCert }),
    ...(clientKey === undefined ? {} : { clientKey }),
    ...(serverCa === undefined ? {} : { serverCa }),
    ...(serverName === undefined ? {} : { serverName: serverName.value }),
  };
}

/** Link to a workflow in the Web UI (Temporal Cloud's UI when the address is a tmprl.cloud one). */
export function workflowUrl(config: ConnectionConfig, workflowId: string, uiUrl?: string): string | undefined {
  const base = uiUrl ?? config.uiUrl ?? (config.address?.includes('tmprl.cloud') ? 'https://cloud.temporal.io' : undefined);
  if (base === undefined) return undefined;
  return `${base}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
