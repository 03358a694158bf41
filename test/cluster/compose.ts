/**
 * What the cluster test takes from docker-compose.yml, so the compose file is checked by the same values: the
 * Temporal server version (its image tag), the schema set-up and namespace set-up scripts (run here as they are),
 * and the files both use (deploy/temporal/: the server's dynamic config, the namespace's settings).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DYNAMIC_CONFIG_FILE = `${ROOT}deploy/temporal/dynamicconfig.yaml`;
export const NAMESPACE_ENV_FILE = `${ROOT}deploy/temporal/namespace.env`;

const service = z.object({ image: z.string().optional(), command: z.array(z.string()).optional(), env_file: z.array(z.string()).optional() }).passthrough();
const composeSchema = z.object({ services: z.record(z.string(), service) }).passthrough();

export interface ComposeSettings {
  /** The temporalio/server image's default tag, e.g. "1.29.1". */
  temporalVersion: string;
  /** temporal-admin-tools' script: creates and migrates the schemas with temporal-sql-tool, creates the blob store's database. */
  schemaScript: string;
  /** temporal-create-namespace's script: waits for the server, creates the namespace, registers the search attributes. */
  namespaceScript: string;
  /** deploy/temporal/namespace.env. */
  namespaceEnv: Record<string, string>;
}

export function readCompose(): ComposeSettings {
  const compose = composeSchema.parse(parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }));
  const image = compose.services.temporal?.image ?? '';
  const version = /^temporalio\/server:\$\{TEMPORAL_VERSION:-([0-9.]+)\}$/.exec(image)?.[1];
  if (version === undefined) throw new Error(`docker-compose.yml: services.temporal.image is "${image}"; expected temporalio/server:\${TEMPORAL_VERSION:-X.Y.Z}`);
  const script = (name: string) => {
    const command = compose.services[name]?.command?.[0];
    if (command === undefined) throw new Error(`docker-compose.yml: services.${name}.command has no script`);
    // Compose turns "$$" into "$" before the shell sees the script.
    return command.replaceAll('$$', '$');
  };
  const envFiles = compose.services['temporal-create-namespace']?.env_file ?? [];
  if (!envFiles.includes('deploy/temporal/namespace.env')) throw new Error('docker-compose.yml: temporal-create-namespace no longer reads deploy/temporal/namespace.env');
  return { temporalVersion: version, schemaScript: script('temporal-admin-tools'), namespaceScript: script('temporal-create-namespace'), namespaceEnv: readEnvFile(NAMESPACE_ENV_FILE) };
}

/** KEY=VALUE lines (compose's env_file format: no quotes, no interpolation), comments and blank lines skipped. */
export function readEnvFile(file: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`${file}: "${line}" is not KEY=VALUE`);
    entries[line.slice(0, at)] = line.slice(at + 1);
  }
  return entries;
}
