/**
 * `capsule dev`: the embedded Temporal server (with Web UI, persisted under .capsule/) plus a worker, until Ctrl-C.
 * Other commands in this directory find it through .capsule/dev-server.json and submit to it.
 */
import path from 'node:path';
import { findTemporalBinary } from '../../client/binary.js';
import { DEFAULT_PORT, DEFAULT_UI_PORT, startInProcessWorker } from '../../client/backend.js';
import { resolveConnectionConfig } from '../../client/config.js';
import { CAPSULE_DIR, clearDevServerState, DB_FILE_NAME, readDevServerState, startDevServer, writeDevServerState } from '../../client/dev-server.js';
import { interruptFor, processIo, reportUserError, type CommandIo } from '../../client/io.js';

export interface DevOptions {
  port?: number;
  uiPort?: number;
  io?: CommandIo;
}

export async function dev(options: DevOptions): Promise<number> {
  const io = options.io ?? processIo();
  const interrupt = interruptFor(io);
  try {
    const config = resolveConnectionConfig(io.cwd, io.env);
    if (config.configured) {
      io.err(`error: a server is configured (${config.address}); capsule dev runs the embedded one. Use capsule worker for a configured server.`);
      return 2;
    }
    const running = readDevServerState(io.cwd);
    if (running !== undefined) {
      io.err(`error: a Capsule server already serves this directory at ${running.address} (pid ${running.pid})`);
      return 2;
    }
    const binary = await findTemporalBinary({ env: io.env, report: io.err });
    const dbFile = path.join(io.cwd, CAPSULE_DIR, DB_FILE_NAME);
    const server = await startDevServer({
      binary,
      dbFile,
      port: options.port ?? DEFAULT_PORT,
      uiPort: options.uiPort ?? DEFAULT_UI_PORT,
      namespace: config.namespace,
      logFile: path.join(io.cwd, CAPSULE_DIR, 'temporal.log'),
    });
    const worker = await startInProcessWorker(config, server.address, undefined, 'INFO');
    writeDevServerState(io.cwd, { pid: server.pid, address: server.address, ...(server.uiUrl === undefined ? {} : { uiUrl: server.uiUrl }), namespace: config.namespace, owner: 'dev' });
    io.out(`Temporal server: ${server.address} (data: ${dbFile})`);
    if (server.uiUrl !== undefined) io.out(`Web UI: ${server.uiUrl}`);
    io.out(`worker on task queue "${config.taskQueue}"; run pipelines from another terminal with: capsule run <file>. Ctrl-C stops.`);
    await interrupt.promise;
    io.err('stopping: worker, then server');
    await worker.stop();
    clearDevServerState(io.cwd);
    await server.stop();
    return 0;
  } catch (error) {
    return reportUserError(io, error);
  } finally {
    interrupt.dispose();
  }
}
