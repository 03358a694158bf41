/**
 * The embedded Temporal server: `temporal server start-dev` (server + Web UI) with a SQLite file under .capsule/
 * so pipelines survive restarts of both worker and server, and Capsule's search attributes registered.
 * `capsule dev` records the running server in .capsule/dev-server.json (dev-state.ts) so other commands use it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DEFAULT_NAMESPACE, SEARCH_ATTRIBUTES } from '../workflows/shared.js';

export const DB_FILE_NAME = 'temporal.db';
const READY_TIMEOUT_MS = 60_000;

export interface DevServerOptions {
  binary: string;
  /** SQLite file; undefined keeps state in memory (tests that need no persistence). */
  dbFile?: string;
  /** Ports to prefer (taken when free, else a free one is picked). */
  port?: number;
  uiPort?: number;
  /** No Web UI (faster start; tests). */
  headless?: boolean;
  namespace?: string;
  /** Where the server's own output goes (default: discarded). */
  logFile?: string;
  /** The Web UI's remote codec endpoint (`capsule codec-server`, or the one the embedded server runs). */
  uiCodecEndpoint?: string;
  /** More `temporal server start-dev` arguments (e.g. --dynamic-config-value). */
  extraArgs?: string[];
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  namespace: string;
  pid: number;
  /** SIGTERM, then wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL at once (crash tests). */
  kill(): Promise<void>;
}

/**
 * Tries a start this many times when the server exits before it is ready: a port found free (here, and by the
 * server for its internal services) can be taken by another process before the server binds it, and a second
 * start picks again.
 */
const START_ATTEMPTS = 3;

/** The server process ended before it answered. */
class ExitedBeforeReady extends Error {}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(options);
    } catch (error) {
      if (!(error instanceof ExitedBeforeReady) || attempt === START_ATTEMPTS) throw error;
    }
  }
}

async function launch(options: DevServerOptions): Promise<DevServer> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const port = await pickPort(options.port);
  const uiPort = options.headless ? undefined : await pickPort(options.uiPort, port);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1', ...(options.uiCodecEndpoint === undefined ? [] : ['--ui-codec-endpoint', options.uiCodecEndpoint]));
  if (options.dbFile !== undefined) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  // Eager activity dispatch: the server hands a step's activity straight back to the worker that scheduled it,
  // skipping a matching round trip (measured here: sequential steps ~100 ms -> ~40 ms; bench/temporal-floor.ts).
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  args.push(...(options.extraArgs ?? []));

  let output: 'ignore' | number = 'ignore';
  if (options.logFile !== undefined) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    output = openSync(options.logFile, 'a');
  }
  const [command, commandArgs] = withLifeline(options.binary, args);
  const child = spawn(command, commandArgs, { stdio: ['ignore', output, output], detached: false });
  const address = `127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitReady(address, namespace, child, exited, options.logFile);
  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    namespace,
    pid: child.pid ?? -1,
    stop: () => stopChild(child, exited, 'SIGTERM'),
    kill: () => stopChild(child, exited, 'SIGKILL'),
  };
}

/**
 * The server must not outlive the process that started it, even one killed with SIGKILL (which runs no cleanup):
 * an orphaned server would hold the port and `.capsule/` with nobody to stop it. On Linux, util-linux's `setpriv`
 * starts it with a parent-death signal (the kernel sends SIGTERM when this process dies); elsewhere, or without
 * setpriv, it is started directly.
 */
export function withLifeline(binary: string, args: string[], signal: NodeJS.Signals = 'SIGTERM'): [string, string[]] {
  if (process.platform !== 'linux') return [binary, args];
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => existsSync(file));
  return setpriv === undefined ? [binary, args] : [setpriv, ['--pdeathsig', signal, '--', binary, ...args]];
}

async function waitReady(address: string, namespace: string, child: ChildProcess, exited: Promise<number | null>, logFile?: string): Promise<void> {
  let done = false;
  let exitCode: number | null = null;
  void exited.then((code) => {
    done = true;
    exitCode = code;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    if (done) {
      const hint = logFile === undefined ? '' : `; see ${logFile}`;
      throw new ExitedBeforeReady(`temporal server start-dev exited with code ${exitCode} before it was ready${hint}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`temporal server start-dev did not answer on ${address} within ${READY_TIMEOUT_MS / 1000} s (${lastError})`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The preferred port when it is free, else any free port (never `avoid`); 0 means any. */
export async function pickPort(preferred?: number, avoid?: number): Promise<number> {
  if (preferred !== undefined && preferred > 0 && preferred !== avoid && (await isFree(preferred))) return preferred;
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const addr = server.address();
        server.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
      });
    });
    if (port !== avoid) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
