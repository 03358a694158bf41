/**
 * `capsule dev`: the embedded Temporal server (with Web UI, persisted under .capsule/) plus a worker, until Ctrl-C.
 * Other commands in this directory find it through .capsule/dev-server.json and submit to it.
 */
import { startEmbeddedServer, startInProcessWorker } from '../../client/backend.js';
import path from 'node:path';
import { resolveConnectionConfig } from '../../client/config.js';
import { checkWorkflowsFile, workflowBundle } from '../../client/workflow-bundle.js';
import { clearDevServerState, readDevServerState, writeDevServerState } from '../../client/dev-state.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { reportUserError } from '../exit-codes.js';
import { openPayloadLayer, type PayloadLayer } from '../../payloads/data-converter.js';
import { resolvePayloadSettings } from '../../payloads/settings.js';

export interface DevOptions {
  port?: number;
  uiPort?: number;
  /** A workflows file of the user's, bundled with Capsule's on the worker. */
  workflows?: string;
  io?: CommandIo;
}

export async function dev(options: DevOptions): Promise<number> {
  const io = options.io ?? processIo();
  const interrupt = interruptFor(io);
  let payloads: PayloadLayer | undefined;
  try {
    const workflows = options.workflows === undefined ? undefined : checkWorkflowsFile(path.resolve(io.cwd, options.workflows));
    // Bundled first (and cached for the worker): workflow code that does not bundle fails before the server starts.
    if (workflows !== undefined) await workflowBundle({ workflowsPath: workflows });
    const config = resolveConnectionConfig(io.cwd, io.env);
    payloads = openPayloadLayer(resolvePayloadSettings(io.cwd, io.env));
    if (config.configured) {
      io.err(`error: a server is configured (${config.address}); capsule dev runs the embedded one. Use capsule worker for a configured server.`);
      return 2;
    }
    const running = readDevServerState(io.cwd);
    if (running !== undefined) {
      io.err(`error: a Capsule server already serves this directory at ${running.address} (pid ${running.pid})`);
      return 2;
    }
    const server = await startEmbeddedServer({
      cwd: io.cwd,
      env: io.env,
      namespace: config.namespace,
      payloads,
      report: io.err,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.uiPort === undefined ? {} : { uiPort: options.uiPort }),
    });
    let worker;
    try {
      worker = await startInProcessWorker(config, server.address, payloads, undefined, 'INFO', workflows);
    } catch (error) {
      await server.stop();
      throw error;
    }
    writeDevServerState(io.cwd, { pid: server.pid, address: server.address, ...(server.uiUrl === undefined ? {} : { uiUrl: server.uiUrl }), namespace: config.namespace, owner: 'dev' });
    io.out(`Temporal server: ${server.address} (data: ${server.dbFile})`);
    if (server.uiUrl !== undefined) io.out(`Web UI: ${server.uiUrl} (payloads decoded by the codec server at ${server.codec.url})`);
    io.out(`blobs: ${payloads.store.location}${payloads.settings.keyring === undefined ? '' : ` (payloads encrypted with key "${payloads.settings.keyring.activeId}")`}`);
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
    await payloads?.close();
  }
}
