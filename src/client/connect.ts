/** Client and worker connections from a ConnectionConfig (TLS files, API key) — one place for both kinds. */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../workflows/shared.js';
import type { ConnectionConfig, DataSource } from './config.js';
import { ServerUnreachableError } from './errors.js';

interface Target {
  address: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer; serverNameOverride?: string } | true;
  apiKey?: string;
  metadata?: Record<string, string>;
}

function bytes(source: DataSource): Buffer {
  return 'path' in source ? readFileSync(source.path) : Buffer.from(source.data, 'utf8');
}

function target(config: ConnectionConfig, address: string): Target {
  const t = config.tls;
  const tls = t === undefined
    ? undefined
    : t.clientCert === undefined && t.serverCa === undefined && t.serverName === undefined
      ? (true as const)
      : {
          ...(t.clientCert !== undefined && t.clientKey !== undefined ? { clientCertPair: { crt: bytes(t.clientCert), key: bytes(t.clientKey) } } : {}),
          ...(t.serverCa === undefined ? {} : { serverRootCACertificate: bytes(t.serverCa) }),
          ...(t.serverName === undefined ? {} : { serverNameOverride: t.serverName }),
        };
  return {
    address,
    ...(tls === undefined ? {} : { tls }),
    ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
    ...(config.grpcMeta === undefined ? {} : { metadata: config.grpcMeta }),
  };
}

/**
 * What one response to the client may hold. gRPC's default (4 MB) is less than a page of a long history, whose events
 * each carry payloads of up to 2 MB: `capsule history` pages too, but a page of big events still needs the room.
 */
export const MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

/** A client whose payloads go through Capsule's codecs and claim-check (src/payloads/data-converter.ts). */
export async function connectClient(config: ConnectionConfig, address: string, dataConverter: DataConverter): Promise<Client> {
  const connection = await reaching(config, address, () => Connection.connect({ ...target(config, address), channelArgs: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES } }));
  return new Client({ connection, namespace: config.namespace, dataConverter });
}

export async function connectWorker(config: ConnectionConfig, address: string): Promise<NativeConnection> {
  return reaching(config, address, () => NativeConnection.connect(target(config, address)));
}

/** A connection attempt whose failure says which server, set where, did not answer. */
async function reaching<T>(config: ConnectionConfig, address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    const from = config.address === address && config.addressFrom !== undefined ? ` (set by ${config.addressFrom})` : '';
    throw new ServerUnreachableError(`cannot reach the Temporal server at ${address}${from}: ${cause.message.split('\n')[0]}`, cause);
  }
}

/**
 * True when the namespace has every search attribute Capsule writes. Workflows upsert them only then: an unknown
 * attribute would fail the workflow task. Servers that refuse the operator call (some clouds) count as "no".
 */
export async function hasSearchAttributes(client: Client): Promise<boolean> {
  try {
    const response = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
    const custom = response.customAttributes ?? {};
    return Object.keys(SEARCH_ATTRIBUTES).every((name) => name in custom);
  } catch {
    return false;
  }
}
