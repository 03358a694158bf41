/**
 * Decides which Temporal server a command talks to, in this order: a configured one (env / capsule.toml), a
 * `capsule dev` or `capsule run` already serving from this directory (.capsule/dev-server.json), else the embedded
 * dev server started here (persisted to .capsule/temporal.db). When nobody else runs a worker, an in-process worker
 * is started so the pipeline makes progress.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { LogLevel, Worker } from '@temporalio/worker';
import { startCodecServer, type CodecServer } from '../payloads/codec-server.js';
import { openPayloadLayer, type PayloadLayer } from '../payloads/data-converter.js';
import { resolvePayloadSettings } from '../payloads/settings.js';
import { Sandbox } from '../sandbox/index.js';
import { findTemporalBinary } from './binary.js';
import { resolveConnectionConfig, type ConnectionConfig } from './config.js';
import { connectClient, connectWorker } from './connect.js';
import { DB_FILE_NAME, startDevServer, type DevServer } from './dev-server.js';
import { CAPSULE_DIR, clearDevServerState, readDevServerState, writeDevServerState } from './dev-state.js';
import { takeLease, waitForLeases } from './leases.js';
import { installRuntime } from './runtime.js';
import { createWorker } from './worker.js';

export const DEFAULT_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;

export interface BackendOptions {
  cwd: string;
  /** Start an in-process worker when no other worker is known to serve the queue. */
  worker: boolean;
  /** Reuse this sandbox for the in-process worker (the caller already made one to validate tasks). */
  sandbox?: Sandbox;
  /** A user's workflows file for the in-process worker, bundled with Capsule's workflows. */
  workflowsPath?: string;
  /** One line per step taken (binary search, server start). */
  report?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export interface Backend {
  kind: 'configured' | 'shared' | 'embedded';
  client: Client;
  config: ConnectionConfig;
  /** Codecs, claim-check and blob store this process uses (the same settings as every worker's). */
  payloads: PayloadLayer;
  address: string;
  uiUrl: string | undefined;
  /**
   * The in-process worker's workflows file, when this process runs the worker (`null`: Capsule's workflows only);
   * undefined when workers run elsewhere (a configured server, `capsule dev`).
   */
  workerWorkflows(): string | null | undefined;
  /** Restarts the in-process worker with another workflows file (its running steps are handed back); no-op without one. */
  useWorkflows(workflowsPath: string | undefined): Promise<void>;
  /** Stops what this process started (worker, then the embedded server). Running workflows are unaffected. */
  close(): Promise<void>;
}

export async function openBackend(options: BackendOptions): Promise<Backend> {
  const env = options.env ?? process.env;
  const report = options.report ?? (() => {});
  const config = resolveConnectionConfig(options.cwd, env);
  const payloads = openPayloadLayer(resolvePayloadSettings(options.cwd, env));
  try {
    return await connectBackend(options, config, payloads, report);
  } catch (error) {
    await payloads.close();
    throw error;
  }
}

async function connectBackend(options: BackendOptions, config: ConnectionConfig, payloads: PayloadLayer, report: (line: string) => void): Promise<Backend> {
  const env = options.env ?? process.env;
  if (config.configured && config.address !== undefined) {
    const client = await connectClient(config, config.address, payloads.dataConverter);
    const close = async () => {
      await client.connection.close();
      await payloads.close();
    };
    return { kind: 'configured', client, config, payloads, address: config.address, uiUrl: config.uiUrl, workerWorkflows: () => undefined, useWorkflows: async () => {}, close };
  }

  const shared = readDevServerState(options.cwd);
  let server: EmbeddedServer | undefined;
  let address: string;
  let uiUrl: string | undefined;
  let needWorker = options.worker;
  let releaseLease: (() => void) | undefined;
  if (shared !== undefined && shared.namespace === config.namespace) {
    report(`using the Temporal server of ${shared.owner === 'dev' ? '`capsule dev`' : 'another `capsule run`'} at ${shared.address}`);
    address = shared.address;
    uiUrl = shared.uiUrl;
    // `capsule dev` runs a worker; a `capsule run` may exit before our pipeline finishes, so bring our own, and
    // hold a lease so that run keeps its server up for us.
    needWorker &&= shared.owner !== 'dev';
    if (shared.owner !== 'dev') releaseLease = takeLease(options.cwd);
  } else {
    server = await startEmbeddedServer({ cwd: options.cwd, env, namespace: config.namespace, payloads, report });
    address = server.address;
    uiUrl = server.uiUrl;
    report(`started the embedded Temporal server at ${address} (UI ${uiUrl ?? 'off'}, data in ${server.dbFile})`);
    writeDevServerState(options.cwd, { pid: server.pid, address, ...(uiUrl === undefined ? {} : { uiUrl }), namespace: config.namespace, owner: 'run' });
  }

  let client: Client | undefined;
  let worker: InProcessWorker | undefined;
  let workerWorkflows = options.workflowsPath;
  try {
    client = await connectClient(config, address, payloads.dataConverter);
    if (needWorker) worker = await startInProcessWorker(config, address, payloads, options.sandbox, 'ERROR', workerWorkflows);
  } catch (error) {
    // Nothing half-started stays behind: the server this call started stops, a borrowed one gets its lease back.
    await client?.connection.close();
    releaseLease?.();
    if (server !== undefined) {
      clearDevServerState(options.cwd);
      await server.stop();
    }
    throw error;
  }
  return {
    kind: server === undefined ? 'shared' : 'embedded',
    client,
    config,
    payloads,
    address,
    uiUrl,
    workerWorkflows: () => (worker === undefined ? undefined : (workerWorkflows ?? null)),
    useWorkflows: async (workflowsPath) => {
      if (worker === undefined || workflowsPath === workerWorkflows) return;
      // Bundled first, so a bad file leaves the running worker as it was.
      const next = await startInProcessWorker(config, address, payloads, options.sandbox, 'ERROR', workflowsPath);
      await worker.stop();
      worker = next;
      workerWorkflows = workflowsPath;
    },
    close: async () => {
      await worker?.stop();
      await client.connection.close();
      releaseLease?.();
      if (server !== undefined) {
        await waitForLeases(options.cwd, report);
        clearDevServerState(options.cwd);
        await server.stop();
      }
      await payloads.close();
    },
  };
}

export interface EmbeddedServerOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  namespace: string;
  payloads: PayloadLayer;
  port?: number;
  uiPort?: number;
  report?: (line: string) => void;
}

export interface EmbeddedServer extends DevServer {
  dbFile: string;
  /** Where the Web UI decodes payloads (compressed, encrypted): served by this process. */
  codec: CodecServer;
}

/**
 * The embedded dev server (data in .capsule/temporal.db) with its Web UI pointed at a codec server in this
 * process, so the UI shows Capsule's compressed and encrypted payloads decoded. Both stop together.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const binary = await findTemporalBinary({ env: options.env, ...(options.report === undefined ? {} : { report: options.report }) });
  const dbFile = path.join(options.cwd, CAPSULE_DIR, DB_FILE_NAME);
  const codec = await startCodecServer({ codecs: options.payloads.codecs });
  try {
    const server = await startDevServer({
      binary,
      dbFile,
      port: options.port ?? DEFAULT_PORT,
      uiPort: options.uiPort ?? DEFAULT_UI_PORT,
      namespace: options.namespace,
      logFile: path.join(options.cwd, CAPSULE_DIR, 'temporal.log'),
      uiCodecEndpoint: codec.url,
    });
    if (server.uiUrl !== undefined) codec.allowOrigin(server.uiUrl);
    return {
      ...server,
      dbFile,
      codec,
      stop: async () => {
        await server.stop();
        await codec.close();
      },
      kill: async () => {
        await server.kill();
        await codec.close();
      },
    };
  } catch (error) {
    await codec.close();
    throw error;
  }
}

export interface InProcessWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/** A worker running inside this process until stop(); in-flight steps are cancelled and handed back on stop. */
export async function startInProcessWorker(config: ConnectionConfig, address: string, payloads: PayloadLayer, sandbox?: Sandbox, logLevel: LogLevel = 'ERROR', workflowsPath?: string): Promise<InProcessWorker> {
  // `run` keeps the terminal for its progress table (quiet); `dev` is a long-running worker and logs like one.
  installRuntime(logLevel);
  const ownSandbox = sandbox === undefined ? await Sandbox.create() : undefined;
  const connection = await connectWorker(config, address);
  let worker: Worker;
  try {
    worker = await createWorker({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      sandbox: sandbox ?? ownSandbox!,
      dataConverter: payloads.dataConverter,
      shutdownGraceTime: '2s',
      ...(workflowsPath === undefined ? {} : { workflowsPath }),
    });
  } catch (error) {
    await connection.close();
    await ownSandbox?.close();
    throw error;
  }
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await ownSandbox?.close();
    },
  };
}
