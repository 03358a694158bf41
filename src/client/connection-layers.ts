/**
 * The three places a Temporal connection setting can come from, each read into the same shape with the place it came
 * from: a temporal.toml profile (Temporal's own environment configuration, read by @temporalio/envconfig), the
 * project's capsule.toml `[temporal]`, and the standard TEMPORAL_* environment variables (also read by envconfig,
 * plus Capsule's CAPSULE_TASK_QUEUE and CAPSULE_UI_URL). config.ts layers them and checks the result.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import type { TemporalFileConfig } from '../config/capsule-toml.js';
import { ConnectionConfigError } from './errors.js';


/** A value and where it was set, for error messages ("environment variable TEMPORAL_ADDRESS", ...). */
export interface Setting<T> {
  value: T;
  from: string;
}

/** A certificate or key: a file, or PEM text given inline (temporal.toml `*_data`, TEMPORAL_TLS_*_DATA). */
export type DataSource = { path: string } | { data: string };

export interface Layer {
  address?: Setting<string>;
  namespace?: Setting<string>;
  apiKey?: Setting<string>;
  /** TLS turned on or off explicitly (TEMPORAL_TLS, `tls.disabled`, capsule.toml `tls`). */
  tls?: Setting<boolean>;
  clientCert?: Setting<DataSource>;
  clientKey?: Setting<DataSource>;
  serverCa?: Setting<DataSource>;
  serverName?: Setting<string>;
  grpcMeta?: Setting<Record<string, string>>;
  taskQueue?: Setting<string>;
  uiUrl?: Setting<string>;
}

type Env = Record<string, string | undefined>;

/** Capsule's former variable names, refused with the standard one to use instead. */
const RENAMED: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
};

/** The standard variables, read by envconfig exactly as the other Temporal SDKs and the CLI read them. */
export function environmentLayer(env: Env): Layer {
  for (const [old, standard] of Object.entries(RENAMED)) {
    if (nonEmpty(env[old]) !== undefined) throw new ConnectionConfigError(`environment variable ${old} is not read: use ${standard} (Temporal's standard name)`);
  }
  const defined = definedEnv(env);
  const profile = loadClientConfigProfile({ disableFile: true, overrideEnvVars: defined });
  const variable = (...names: string[]) => `environment variable ${names.find((n) => nonEmpty(env[n]) !== undefined) ?? names[0]}`;
  const layer = fromProfile(profile, {
    address: variable('TEMPORAL_ADDRESS'),
    namespace: variable('TEMPORAL_NAMESPACE'),
    apiKey: variable('TEMPORAL_API_KEY'),
    tls: variable('TEMPORAL_TLS'),
    clientCert: variable('TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA'),
    clientKey: variable('TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA'),
    serverCa: variable('TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'),
    serverName: variable('TEMPORAL_TLS_SERVER_NAME'),
    grpcMeta: 'environment variables TEMPORAL_GRPC_META_*',
  });
  const taskQueue = nonEmpty(env.CAPSULE_TASK_QUEUE);
  const uiUrl = nonEmpty(env.CAPSULE_UI_URL);
  return {
    ...layer,
    ...(taskQueue === undefined ? {} : { taskQueue: { value: taskQueue, from: 'environment variable CAPSULE_TASK_QUEUE' } }),
    ...(uiUrl === undefined ? {} : { uiUrl: { value: uiUrl, from: 'environment variable CAPSULE_UI_URL' } }),
  };
}

/** capsule.toml `[temporal]` (validated by src/config/capsule-toml.ts). */
export function capsuleTomlLayer(temporal: TemporalFileConfig, file: string | undefined): Layer {
  const key = (name: string) => `${file ?? 'capsule.toml'} [temporal].${name}`;
  const set = <T>(value: T | undefined, name: string) => (value === undefined ? undefined : { value, from: key(name) });
  const entries: Layer = {
    address: set(temporal.address, 'address'),
    namespace: set(temporal.namespace, 'namespace'),
    apiKey: set(temporal.api_key, 'api_key'),
    tls: set(temporal.tls, 'tls'),
    clientCert: set(temporal.tls_cert_path === undefined ? undefined : { path: temporal.tls_cert_path }, 'tls_cert_path'),
    clientKey: set(temporal.tls_key_path === undefined ? undefined : { path: temporal.tls_key_path }, 'tls_key_path'),
    serverCa: set(temporal.tls_ca_path === undefined ? undefined : { path: temporal.tls_ca_path }, 'tls_ca_path'),
    serverName: set(temporal.tls_server_name, 'tls_server_name'),
    taskQueue: set(temporal.task_queue, 'task_queue'),
    uiUrl: set(temporal.ui_url, 'ui_url'),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Layer;
}

/**
 * A profile of Temporal's configuration file: TEMPORAL_CONFIG_FILE, else temporal.toml in the user's configuration
 * directory (~/.config/temporalio/ on Linux); the profile TEMPORAL_PROFILE names, else capsule.toml's
 * `[temporal].profile`, else "default". A profile asked for by name must exist; the default one may not.
 */
export function profileLayer(env: Env, tomlProfile: Setting<string> | undefined): Layer {
  const explicitFile = nonEmpty(env.TEMPORAL_CONFIG_FILE);
  const file = explicitFile ?? defaultConfigFile(env);
  const requested = nonEmpty(env.TEMPORAL_PROFILE) !== undefined ? { value: env.TEMPORAL_PROFILE!, from: 'environment variable TEMPORAL_PROFILE' } : tomlProfile;
  if (explicitFile !== undefined && !existsSync(explicitFile)) throw new ConnectionConfigError(`environment variable TEMPORAL_CONFIG_FILE: file "${explicitFile}" not found`);
  if (file === undefined || !existsSync(file)) {
    if (requested !== undefined) throw new ConnectionConfigError(`${requested.from}: profile "${requested.value}" asked for, but there is no Temporal configuration file (${file ?? 'no home directory'}); create it or set TEMPORAL_CONFIG_FILE`);
    return {};
  }
  const name = requested?.value ?? 'default';
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ configSource: { path: file }, configFileStrict: true, disableEnv: true, ...(requested === undefined ? {} : { profile: name }) });
  } catch (error) {
    const why = error instanceof Error ? error.message.replace(/^Validation error: /, '') : String(error);
    throw new ConnectionConfigError(`${file}${requested === undefined ? '' : ` (profile "${name}" from ${requested.from})`}: ${why}`);
  }
  const where = (key: string) => `${file} [profile.${name}] ${key}`;
  return fromProfile(profile, {
    address: where('address'),
    namespace: where('namespace'),
    apiKey: where('api_key'),
    tls: where('tls.disabled'),
    clientCert: where('tls.client_cert_*'),
    clientKey: where('tls.client_key_*'),
    serverCa: where('tls.server_ca_cert_*'),
    serverName: where('tls.server_name'),
    grpcMeta: where('grpc_meta'),
  });
}

type ProfileKey = 'address' | 'namespace' | 'apiKey' | 'tls' | 'clientCert' | 'clientKey' | 'serverCa' | 'serverName' | 'grpcMeta';

function fromProfile(profile: ClientConfigProfile, from: Record<ProfileKey, string>): Layer {
  const layer: Layer = {};
  const text = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  if (text(profile.address)) layer.address = { value: profile.address!, from: from.address };
  if (text(profile.namespace)) layer.namespace = { value: profile.namespace!, from: from.namespace };
  if (text(profile.apiKey)) layer.apiKey = { value: profile.apiKey!, from: from.apiKey };
  const tls = profile.tls;
  if (tls?.disabled !== undefined) layer.tls = { value: !tls.disabled, from: from.tls };
  const source = (s: ConfigDataSource | undefined): DataSource | undefined =>
    s === undefined ? undefined : 'path' in s ? { path: s.path } : { data: typeof s.data === 'string' ? s.data : Buffer.from(s.data).toString('utf8') };
  const cert = source(tls?.clientCert);
  const key = source(tls?.clientKey);
  const ca = source(tls?.serverCACert);
  if (cert) layer.clientCert = { value: cert, from: from.clientCert };
  if (key) layer.clientKey = { value: key, from: from.clientKey };
  if (ca) layer.serverCa = { value: ca, from: from.serverCa };
  if (text(tls?.serverName)) layer.serverName = { value: tls!.serverName!, from: from.serverName };
  if (profile.grpcMeta !== undefined && Object.keys(profile.grpcMeta).length > 0) layer.grpcMeta = { value: profile.grpcMeta, from: from.grpcMeta };
  return layer;
}

/** Where envconfig looks for temporal.toml when TEMPORAL_CONFIG_FILE is not set. */
function defaultConfigFile(env: Env): string | undefined {
  const configDir = process.platform === 'win32' ? env.APPDATA
    : process.platform === 'darwin' ? (env.HOME === undefined ? undefined : path.join(env.HOME, 'Library', 'Application Support'))
    : nonEmpty(env.XDG_CONFIG_HOME) ?? (env.HOME === undefined ? undefined : path.join(env.HOME, '.config'));
  return configDir === undefined || !path.isAbsolute(configDir) ? undefined : path.join(configDir, 'temporalio', 'temporal.toml');
}

function definedEnv(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
