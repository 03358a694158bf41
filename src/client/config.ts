/**
 * Where the Temporal server is. Environment variables win over capsule.toml `[temporal]`; with neither setting an
 * address, Capsule uses its embedded dev server. Errors name the variable or key and what was expected.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCapsuleConfig } from '../config/capsule-toml.js';
import { parseHostAndPort } from '../config/host-pattern.js';
import { ConnectionConfigError } from './errors.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../workflows/shared.js';

export interface TlsFiles {
  certPath: string;
  keyPath: string;
  caPath?: string;
}

export interface ConnectionConfig {
  /** True when an address came from the environment or capsule.toml (no embedded server then). */
  configured: boolean;
  address?: string;
  namespace: string;
  taskQueue: string;
  tls?: TlsFiles;
  apiKey?: string;
  uiUrl?: string;
}

/** Environment variable -> capsule.toml key, for messages and lookup. */
const FIELDS = {
  address: ['TEMPORAL_ADDRESS', 'address'],
  namespace: ['TEMPORAL_NAMESPACE', 'namespace'],
  taskQueue: ['CAPSULE_TASK_QUEUE', 'task_queue'],
  certPath: ['TEMPORAL_TLS_CERT', 'tls_cert_path'],
  keyPath: ['TEMPORAL_TLS_KEY', 'tls_key_path'],
  caPath: ['TEMPORAL_TLS_CA', 'tls_ca_path'],
  apiKey: ['TEMPORAL_API_KEY', 'api_key'],
  uiUrl: ['CAPSULE_UI_URL', 'ui_url'],
} as const;
type Field = keyof typeof FIELDS;

export function resolveConnectionConfig(cwd: string, env: Record<string, string | undefined> = process.env): ConnectionConfig {
  const file = loadCapsuleConfig(cwd);
  const where = (field: Field) => (env[FIELDS[field][0]] ? `environment variable ${FIELDS[field][0]}` : `${file.file ?? 'capsule.toml'} [temporal].${FIELDS[field][1]}`);
  const get = (field: Field): string | undefined => {
    const fromEnv = env[FIELDS[field][0]];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return file.temporal[FIELDS[field][1]];
  };
  const address = get('address');
  if (address !== undefined && !parseHostAndPort(address).ok) {
    throw new ConnectionConfigError(`${where('address')}: got "${address}"; expected host:port such as "127.0.0.1:7233" or "my-ns.a1b2c.tmprl.cloud:7233"`);
  }
  const certPath = resolvePath(cwd, get('certPath'), where('certPath'));
  const keyPath = resolvePath(cwd, get('keyPath'), where('keyPath'));
  const caPath = resolvePath(cwd, get('caPath'), where('caPath'));
  if ((certPath === undefined) !== (keyPath === undefined)) {
    const missing = certPath === undefined ? 'certPath' : 'keyPath';
    throw new ConnectionConfigError(`TLS needs both a client certificate and key: set environment variable ${FIELDS[missing][0]} or [temporal].${FIELDS[missing][1]} in capsule.toml`);
  }
  if (address === undefined && (certPath !== undefined || get('apiKey') !== undefined)) {
    throw new ConnectionConfigError('TLS or API key settings were given without an address: set TEMPORAL_ADDRESS or [temporal].address in capsule.toml');
  }
  const apiKey = get('apiKey');
  const uiUrl = get('uiUrl');
  return {
    configured: address !== undefined,
    ...(address === undefined ? {} : { address }),
    namespace: get('namespace') ?? DEFAULT_NAMESPACE,
    taskQueue: get('taskQueue') ?? DEFAULT_TASK_QUEUE,
    ...(certPath !== undefined && keyPath !== undefined ? { tls: { certPath, keyPath, ...(caPath === undefined ? {} : { caPath }) } } : {}),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(uiUrl === undefined ? {} : { uiUrl: uiUrl.replace(/\/+$/, '') }),
  };
}

function resolvePath(cwd: string, value: string | undefined, where: string): string | undefined {
  if (value === undefined) return undefined;
  const full = path.resolve(cwd, value);
  if (!existsSync(full)) throw new ConnectionConfigError(`${where}: file "${value}" not found (looked for ${full})`);
  return full;
}

/** Link to a workflow in the Web UI (Temporal Cloud's UI when the address is a tmprl.cloud one). */
export function workflowUrl(config: ConnectionConfig, workflowId: string, uiUrl?: string): string | undefined {
  const base = uiUrl ?? config.uiUrl ?? (config.address?.includes('tmprl.cloud') ? 'https://cloud.temporal.io' : undefined);
  if (base === undefined) return undefined;
  return `${base}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
