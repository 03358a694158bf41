/**
 * What the payload layer costs (issue 11), measured against the same work without it:
 *  - the codecs alone, per MB: gzip and AES-256-GCM, encode + decode of a hex value (gzip halves it);
 *  - the blob store alone, per MB: put + get in the local directory store (content-addressed, sha256 checked);
 *  - a two-step pipeline moving a 1 MB value (the first step's result, the second step's input) on the embedded
 *    dev server, with: no codec and no claim-check (the baseline; 1 MB still fits a Temporal payload), claim-check
 *    only, compression + claim-check (the default), compression + encryption + claim-check. The extra time over
 *    the baseline, divided by the 2 MB the pipeline moves through Temporal, is the cost per MB.
 * Run: `node --import tsx bench/payloads.ts` (or through `npm run bench`). Prints Markdown tables.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { findTemporalBinary } from '../src/client/binary.js';
import { startDevServer } from '../src/client/dev-server.js';
import { awaitOutcome } from '../src/client/outcome.js';
import { installRuntime } from '../src/client/runtime.js';
import { preparePipeline, startPipeline } from '../src/client/submit.js';
import { createWorker } from '../src/client/worker.js';
import { workflowBundle } from '../src/client/workflow-bundle.js';
import { CompressionCodec, EncryptionCodec } from '../src/payloads/codecs.js';
import { openPayloadLayer } from '../src/payloads/data-converter.js';
import { parseKeyring } from '../src/payloads/keyring.js';
import { LocalBlobStore } from '../src/payloads/local-store.js';
import { resolvePayloadSettings } from '../src/payloads/settings.js';
import { Sandbox } from '../src/sandbox/index.js';
import { median } from './stats.js';

const DATA = fileURLToPath(new URL('./temporal-tasks/data.ts', import.meta.url));
const MB = 1024 * 1024;
const CODEC_MB = 16;
const PIPELINE_MB = 1;
const RUNS = 9;
const log = (line: string) => process.stderr.write(`${line}\n`);

function hexValue(mb: number): Payload {
  const block = randomBytes(32 * 1024).toString('hex');
  return { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(block.repeat(mb * 16))) };
}

async function timeCodec(codec: PayloadCodec, payload: Payload): Promise<{ encode: number; decode: number; ratio: number }> {
  const encodes: number[] = [];
  const decodes: number[] = [];
  let size = 0;
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    const [encoded] = await codec.encode([payload]);
    encodes.push(performance.now() - t);
    t = performance.now();
    await codec.decode([encoded!]);
    decodes.push(performance.now() - t);
    size = encoded!.data!.length;
  }
  return { encode: median(encodes), decode: median(decodes), ratio: size / payload.data!.length };
}

async function benchCodecs(): Promise<void> {
  const payload = hexValue(CODEC_MB);
  const mb = payload.data!.length / MB;
  const gzip = await timeCodec(new CompressionCodec(1024), payload);
  const aes = await timeCodec(new EncryptionCodec(parseKeyring(randomBytes(32).toString('base64'))), payload);
  const store = new LocalBlobStore(mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-blobs-')));
  const puts: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < 5; i++) {
    const bytes = randomBytes(payload.data!.length);
    const address = createHash('sha256').update(bytes).digest('hex');
    let t = performance.now();
    await store.put(address, bytes);
    puts.push(performance.now() - t);
    t = performance.now();
    const back = await store.get(address);
    createHash('sha256').update(back!).digest('hex');
    gets.push(performance.now() - t);
  }
  const row = (what: string, a: number, b: number, note: string) => `| ${what} | ${(a / mb).toFixed(1)} ms | ${(b / mb).toFixed(1)} ms | ${note} |`;
  process.stdout.write([
    `Codecs and store alone, on a ${mb.toFixed(0)} MB hex value (median of 5):`,
    '',
    '| stage | encode / put per MB | decode / get per MB | note |',
    '|---|---|---|---|',
    row('gzip (level 1)', gzip.encode, gzip.decode, `output ${(gzip.ratio * 100).toFixed(0)} % of input`),
    row('AES-256-GCM', aes.encode, aes.decode, 'random IV per payload'),
    row('local blob store (+ sha256 on read)', median(puts), median(gets), 'page cache, no fsync'),
    '',
  ].join('\n'));
}

interface Variant {
  name: string;
  converter: DataConverter;
}

async function benchPipeline(): Promise<void> {
  installRuntime('ERROR');
  const server = await startDevServer({ binary: await findTemporalBinary({ report: log }), headless: true });
  const sandbox = await Sandbox.create();
  const bundle = await workflowBundle();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-payloads-'));
  const file = path.join(dir, 'pipeline.json');
  writeFileSync(file, JSON.stringify({ name: 'bench-payloads', steps: [{ id: 'produce', task: `${DATA}#produce`, input: PIPELINE_MB }, { id: 'consume', task: `${DATA}#consume`, input: '{{ steps.produce.output }}' }] }));
  const base = resolvePayloadSettings(dir, {});
  const layer = (settings: Partial<typeof base>) => openPayloadLayer({ ...base, ...settings });
  const key = parseKeyring(randomBytes(32).toString('base64'));
  const layers = {
    claim: layer({ compressionThresholdBytes: undefined }),
    compressed: layer({}),
    encrypted: layer({ keyring: key }),
  };
  const variants: Variant[] = [
    { name: 'no codec, no claim-check (baseline)', converter: {} },
    { name: 'claim-check only', converter: layers.claim.dataConverter },
    { name: 'gzip + claim-check (default)', converter: layers.compressed.dataConverter },
    { name: 'gzip + AES-256-GCM + claim-check', converter: layers.encrypted.dataConverter },
  ];
  // Variants take turns, run by run, so a change in the machine's load weighs on all of them alike.
  const times = variants.map(() => [] as number[]);
  const started: { stop(): Promise<void> }[] = [];
  try {
    const clients: { client: Client; taskQueue: string }[] = [];
    for (const [v, variant] of variants.entries()) {
      const connection = await Connection.connect({ address: server.address });
      const native = await NativeConnection.connect({ address: server.address });
      const taskQueue = `bench-payloads-${v}-${process.pid}`;
      const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, sandbox, dataConverter: variant.converter, workflowBundle: bundle });
      const running = worker.run();
      started.push({ stop: async () => { worker.shutdown(); await running; await native.close(); await connection.close(); } });
      clients.push({ client: new Client({ connection, dataConverter: variant.converter }), taskQueue });
    }
    for (let i = 0; i <= RUNS; i++) {
      for (const [v, variant] of variants.entries()) {
        const { client, taskQueue } = clients[v]!;
        const input = await preparePipeline({ file, cwd: dir, describer: sandbox });
        const t = performance.now();
        const handle = await startPipeline(client, input, { taskQueue, workflowId: `bench-payloads-${taskQueue}-${i}` });
        const outcome = await awaitOutcome(handle);
        if (outcome.status !== 'succeeded' || outcome.result?.output !== PIPELINE_MB * MB) throw new Error(`${variant.name}: ${outcome.status} ${outcome.message ?? ''}`);
        if (i > 0) times[v]!.push(performance.now() - t); // the first round warms the workers up
      }
    }
  } finally {
    for (const s of started) await s.stop();
    for (const l of Object.values(layers)) await l.close();
    await sandbox.close();
    await server.stop();
  }
  const results = variants.map((variant, v) => ({ name: variant.name, p50: median(times[v]!) }));
  for (const r of results) log(`${r.name}: p50 ${r.p50.toFixed(1)} ms`);
  const baseline = results[0]!.p50;
  const moved = 2 * PIPELINE_MB;
  process.stdout.write([
    `A two-step pipeline moving a ${PIPELINE_MB} MB value (result, then input: ${moved} MB through Temporal), p50 of ${RUNS} runs:`,
    '',
    '| variant | pipeline p50 | over the baseline | per MB moved |',
    '|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.p50.toFixed(0)} ms | ${r === results[0] ? '' : `${(r.p50 - baseline).toFixed(0)} ms`} | ${r === results[0] ? '' : `${((r.p50 - baseline) / moved).toFixed(1)} ms`} |`),
    '',
  ].join('\n'));
}

export async function benchPayloads(): Promise<void> {
  await benchCodecs();
  await benchPipeline();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchPayloads();
  process.exit(0);
}
