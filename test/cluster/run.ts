/**
 * `npm run test:cluster`: Capsule on the production topology, on this machine. PostgreSQL (Debian's), the official
 * Temporal server built from source at docker-compose.yml's version and set up by that file's own scripts, three
 * `capsule worker` processes sharing a PostgreSQL blob store; then load, a worker killed mid fan-out, and the server
 * killed and restarted mid-pipeline; then the same load on the dev server, for comparison. Prints the figures and
 * records them in docs/benchmarks.md (`--no-record` to skip; `--pipelines N` for a smaller load, which is not recorded).
 * A failed phase is named; every process started here ends with this script, however it ends (children.ts).
 * Run it before each release (it is not part of CI: building the server takes ~18 minutes on a fresh 2-core machine).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { findTemporalBinary } from '../../src/client/binary.js';
import { startDevServer, type DevServer } from '../../src/client/dev-server.js';
import { installRuntime } from '../../src/client/runtime.js';
import { openPayloadLayer, type PayloadLayer } from '../../src/payloads/data-converter.js';
import { resolvePayloadSettings } from '../../src/payloads/settings.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { Children } from './children.js';
import { readCompose } from './compose.js';
import { recordFigures, type ClusterFigures } from './figures.js';
import { ensurePostgres, ensureTemporalServer } from './install.js';
import { fanOutKillPhase, loadPhase, serverRestartPhase, type PhaseContext } from './phases.js';
import { registerNamespace, setUpSchemas, startTemporalServer, type TemporalServer } from './temporal.js';
import { alive, startWorker, type ClusterWorker } from './workers.js';

const args = process.argv.slice(2);
const PIPELINES = Number(args[args.indexOf('--pipelines') + 1] ?? '') || 1000;
const RECORD = !args.includes('--no-record') && PIPELINES === 1000;
const WORKERS = 3;
const CONCURRENCY = 2;
const TASK_QUEUE = 'cluster';

const began = Date.now();
const clock = () => `${String(Math.round((Date.now() - began) / 1000)).padStart(4)} s`;
const log = (line: string) => process.stdout.write(`[${clock()}] ${line}\n`);

const children = new Children();
const closers: (() => Promise<unknown>)[] = [];
let current = 'start';
let finished = false;

/**
 * CAPSULE_CLUSTER_FAIL_IN=<start of a phase's name> makes that phase fail at once: how the report and the clean-up
 * of a failed phase are checked (docs/deployment.md, "Before a release").
 */
const FAIL_IN = process.env.CAPSULE_CLUSTER_FAIL_IN;

/** Runs one named phase; a failure names it (the runner reports it and cleans up). */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  current = name;
  log(`=== ${name}`);
  const started = Date.now();
  if (FAIL_IN && name.startsWith(FAIL_IN)) throw new Error(`failure injected by CAPSULE_CLUSTER_FAIL_IN="${FAIL_IN}"`);
  const result = await fn();
  log(`--- ${name}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function cleanUp(): Promise<void> {
  // Workers and servers first (they use the database), then connections, PostgreSQL and the temporary directory.
  const survivors = await children.stopAll();
  for (const close of closers.reverse()) await close().catch(() => {});
  if (survivors.length > 0) {
    process.stdout.write(`cluster test: processes still running after clean-up: ${survivors.join(', ')}\n`);
    process.exitCode = 1;
  }
}

// Interrupted (Ctrl-C, SIGTERM from CI): stop everything started here, then exit.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    if (finished) return;
    finished = true;
    process.stdout.write(`\ncluster test: interrupted by ${signal} during phase "${current}": stopping every process it started\n`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

async function main(): Promise<ClusterFigures> {
  const compose = readCompose();
  log(`cluster test: ${PIPELINES} pipelines, ${WORKERS} workers x ${CONCURRENCY} steps, Temporal server ${compose.temporalVersion} (docker-compose.yml)`);
  const { build, cli } = await phase('install: PostgreSQL, the Temporal server and its SQL tool, the Temporal CLI', async () => {
    await ensurePostgres(log);
    const server = await ensureTemporalServer(compose.temporalVersion, log);
    const binary = await findTemporalBinary({ report: (line) => log(`temporal cli: ${line}`) });
    return { build: server, cli: binary };
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-cluster-'));
  mkdirSync(path.join(dir, 'out'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  // The compose script calls `temporal`: whatever the CLI binary is called here.
  mkdirSync(path.join(dir, 'bin'));
  symlinkSync(cli, path.join(dir, 'bin', 'temporal'));

  let db!: PostgresServer;
  let server!: TemporalServer;
  await phase('PostgreSQL and the Temporal server (docker-compose.yml schema and namespace scripts)', async () => {
    db = await startPostgres({ settings: ['max_connections=200'] });
    closers.push(() => db.stop());
    log(`PostgreSQL on 127.0.0.1:${db.port}`);
    await setUpSchemas(children, compose, build, db);
    server = await startTemporalServer(children, build, db, path.join(dir, 'temporal'));
    log(`Temporal server ${build.version} on ${server.address}`);
    const output = await registerNamespace(children, compose, path.join(dir, 'bin', 'temporal'), server.address);
    for (const line of output.trim().split('\n')) log(`  ${line}`);
  });

  installRuntime('ERROR');
  // Workers and this client share the blob store in PostgreSQL, as the compose file's workers do.
  const blobStore = `postgres://${db.user}@127.0.0.1:${db.port}/capsule`;
  const payloads: PayloadLayer = openPayloadLayer(resolvePayloadSettings(dir, { CAPSULE_BLOB_STORE: blobStore }));
  closers.push(() => payloads.close());
  const sandbox = await Sandbox.create({ poolSize: 1 });
  closers.push(() => sandbox.close());

  const workerEnv = { CAPSULE_BLOB_STORE: blobStore };
  const connect = async (address: string) => {
    const connection = await Connection.connect({ address });
    closers.push(() => connection.close());
    return new Client({ connection, dataConverter: payloads.dataConverter });
  };
  const client = await connect(server.address);
  const workers: ClusterWorker[] = [];
  await phase(`${WORKERS} capsule workers`, async () => {
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startWorker(children, { address: server.address, taskQueue: TASK_QUEUE, cwd: dir, env: workerEnv, concurrency: CONCURRENCY })))));
  });
  const ctx: PhaseContext = { client, sandbox, dir, taskQueue: TASK_QUEUE, workers, log };

  const load = await phase(`load: ${PIPELINES} three-step pipelines submitted at once, all COMPLETED in visibility`, () => loadPhase(ctx, PIPELINES, 'cluster'));
  if (load.countedRuns < 3 * PIPELINES) throw new Error(`the workers' metrics counted ${load.countedRuns} successful runs, expected at least ${3 * PIPELINES}`);
  const fanOut = await phase('kill -9 of a worker during a 40-item fan-out of ~2 s steps', () => fanOutKillPhase(ctx, 40));
  await phase('a replacement worker', async () => {
    workers.splice(0, workers.length, ...workers.filter(alive), await startWorker(children, { address: server.address, taskQueue: TASK_QUEUE, cwd: dir, env: workerEnv, concurrency: CONCURRENCY }));
  });
  const restart = await phase('kill -9 and restart of the Temporal server mid-pipeline', () =>
    serverRestartPhase(ctx, async () => {
      const down = Date.now();
      await server.restart(2000);
      return (Date.now() - down) / 1000;
    }),
  );
  await phase('stop the cluster', async () => {
    await Promise.all(workers.map((w) => w.child.stop()));
    await server.stop();
  });

  // The same load on the dev server, same workers and settings: the baseline. In memory, as the pipeline benchmarks
  // run it (docs/benchmarks.md): with its SQLite file it completed 18 of 1,000 pipelines in its first 5 minutes here.
  const baseline = await phase(`baseline: the same ${PIPELINES} pipelines on the dev server (in memory)`, async () => {
    const dev: DevServer = await startDevServer({ binary: cli, headless: true });
    closers.push(() => dev.stop());
    const devClient = await connect(dev.address);
    const devWorkers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(children, { address: dev.address, taskQueue: TASK_QUEUE, cwd: dir, env: workerEnv, concurrency: CONCURRENCY })));
    const figures = await loadPhase({ ...ctx, client: devClient, workers: devWorkers }, PIPELINES, 'dev');
    await Promise.all(devWorkers.map((w) => w.child.stop()));
    return figures;
  });
  return { load, baseline, fanOut, restart, temporalVersion: build.version, totalSeconds: (Date.now() - began) / 1000 };
}

try {
  const figures = await main();
  current = 'report';
  await cleanUp();
  finished = true;
  recordFigures(figures, { record: RECORD, log });
  log(`cluster test passed in ${Math.round(figures.totalSeconds)} s`);
} catch (error) {
  if (!finished) {
    finished = true;
    const cause = error instanceof Error && error.cause instanceof Error ? `\ncaused by: ${error.cause.message}` : '';
    process.stdout.write(`\ncluster test FAILED in phase "${current}":\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}${cause}\n`);
    await cleanUp();
    process.exitCode = 1;
  }
}
