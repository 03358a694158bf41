/**
 * The Temporal server of the cluster test, set up the way docker-compose.yml sets it up: the schema script of its
 * temporal-admin-tools service (temporal-sql-tool against PostgreSQL), the server itself with the postgres12
 * plugin and the compose file's dynamic config, then the script of its temporal-create-namespace service (the
 * Temporal CLI). Everything listens on 127.0.0.1, on free ports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { pickPort } from '../../src/client/dev-server.js';
import { waitFor } from '../temporal/processes.js';
import type { Children, Child } from './children.js';
import { DYNAMIC_CONFIG_FILE, type ComposeSettings } from './compose.js';
import type { TemporalServerBuild } from './install.js';

export interface Database {
  port: number;
  user: string;
}

/** Runs one of the compose file's scripts with sh; fails with its output. */
export async function runScript(children: Children, name: string, script: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  const child = children.spawn(name, '/bin/sh', ['-c', script], { env: { ...process.env, ...env } });
  const timer = setTimeout(() => void child.stop('SIGKILL'), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} exited with ${String(code)}; its last output:\n${child.output().slice(-3000)}`);
  return child.output();
}

/** temporal-admin-tools' script: the persistence and visibility schemas, and the blob store's database. */
export async function setUpSchemas(children: Children, compose: ComposeSettings, build: TemporalServerBuild, db: Database): Promise<void> {
  await runScript(children, 'schema set-up (docker-compose.yml temporal-admin-tools)', compose.schemaScript, {
    DB: 'postgres12',
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(db.port),
    POSTGRES_USER: db.user,
    SQL_PASSWORD: '',
    SCHEMA_DIR: build.schemaDir,
    PATH: `${build.binDir}:${process.env.PATH ?? ''}`,
  }, 180_000);
}

export interface TemporalServer {
  address: string;
  child: Child;
  /** Kill -9 and start again on the same database and ports. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTemporalServer(children: Children, build: TemporalServerBuild, db: Database, dir: string): Promise<TemporalServer> {
  // Membership ports are stored as PostgreSQL smallints: every port stays below 32768.
  const ports: number[] = [];
  const port = async (): Promise<number> => {
    const wanted = 20_000 + Math.floor(Math.random() * 12_000);
    if (ports.includes(wanted) || (await pickPort(wanted)) !== wanted) return port();
    ports.push(wanted);
    return wanted;
  };
  const service = async (http = false) => ({ rpc: { grpcPort: await port(), membershipPort: await port(), bindOnLocalHost: true, ...(http ? { httpPort: await port() } : {}) } });
  const frontend = await service(true);
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: { pluginName: 'postgres12', databaseName, connectAddr: `127.0.0.1:${db.port}`, connectProtocol: 'tcp', user: db.user, password: '', maxConns, maxIdleConns: maxConns, maxConnLifetime: '1h' },
  });
  // As the temporalio/server image renders its config for DB=postgres12 (4 history shards, its default).
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: { default: datastore('temporal', 20), visibility: datastore('temporal_visibility', 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' }, metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${await port()}` } } },
    services: { frontend, history: await service(), matching: await service(), worker: await service() },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${frontend.rpc.grpcPort}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: DYNAMIC_CONFIG_FILE, pollInterval: '10s' },
  };
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  writeFileSync(path.join(dir, 'config', 'cluster.yaml'), stringify(config));
  const address = `127.0.0.1:${frontend.rpc.grpcPort}`;
  const launch = async (): Promise<Child> => {
    const child = children.spawn('temporal server', build.server, ['--root', dir, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'], { cwd: dir });
    await waitForServer(address, child);
    return child;
  };
  const server: TemporalServer = {
    address,
    child: await launch(),
    async restart(downMs) {
      await server.child.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server.child = await launch();
    },
    stop: () => server.child.stop(),
  };
  return server;
}

/** Until the frontend answers gRPC health checks (the services join their ring first). */
async function waitForServer(address: string, child: Child): Promise<void> {
  await waitFor(`the Temporal server at ${address}`, async () => {
    if (child.process.exitCode !== null) throw new Error(`the Temporal server exited with ${child.process.exitCode}; its last output:\n${child.output().slice(-3000)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        const health = await connection.healthService.check({});
        return health.status === 1 ? true : undefined;
      } finally {
        await connection.close();
      }
    } catch {
      return undefined;
    }
  }, 180_000, 500);
}

/** temporal-create-namespace's script, with deploy/temporal/namespace.env as compose's env_file gives it. */
export async function registerNamespace(children: Children, compose: ComposeSettings, cliBinary: string, address: string): Promise<string> {
  return runScript(children, 'namespace set-up (docker-compose.yml temporal-create-namespace)', compose.namespaceScript, {
    ...compose.namespaceEnv,
    TEMPORAL_ADDRESS: address,
    NAMESPACE: 'default',
    PATH: `${path.dirname(cliBinary)}:${process.env.PATH ?? ''}`,
  }, 180_000);
}
