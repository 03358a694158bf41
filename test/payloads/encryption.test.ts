/**
 * Encryption on a real server: what the server stores — history payloads, and the blobs of claim-checked values —
 * is ciphertext (read back raw by a client without the codec), the result decrypts with the key, and a wrong or
 * missing key fails with a message naming the key id, on the client (`capsule result`) and on a worker.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecServer } from '../../src/cli/commands/codec-server.js';
import { result as resultCommand } from '../../src/cli/commands/result.js';
import { showProgress } from '../../src/cli/progress.js';
import { startCodecServer } from '../../src/payloads/codec-server.js';
import { openPayloadLayer } from '../../src/payloads/data-converter.js';
import { parseKeyring } from '../../src/payloads/keyring.js';
import { makeData } from '../temporal/fixtures/tasks/make-data.js';
import { createHarness, TASKS, type Harness } from '../temporal/helpers.js';

const KEY = `prod-1:${randomBytes(32).toString('base64')}`;
const MARKER = 'TOP-SECRET-MARKER';
let h: Harness;
let base: string;
beforeAll(async () => {
  h = await createHarness({ payloads: { keyring: parseKeyring(KEY) } });
  base = mkdtempSync(path.join(os.tmpdir(), 'capsule-enc-'));
  mkdirSync(path.join(base, 'data'));
  writeFileSync(path.join(base, 'data', 'big.txt'), '');
  writeFileSync(path.join(base, 'secret.ts'), [
    "import { task } from 'capsule';",
    `export const main = task({ name: 'main' }, (input: { big: string }) => ({ note: '${MARKER} in the result', size: input.big.length, echo: input.big.slice(0, 64) }));`,
  ].join('\n'));
});
afterAll(async () => {
  await h.replayAll();
  await h.close();
});

/**
 * Every payload's raw bytes in a history, except search attributes: the server indexes those (pipeline name,
 * status, fuel), so they are plaintext by design and never hold task data.
 */
function rawPayloads(value: unknown, found: { encoding: string; data: Buffer }[] = []): { encoding: string; data: Buffer }[] {
  if (value === null || typeof value !== 'object') return found;
  if ('indexedFields' in value) return found;
  const maybe = value as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
  if (maybe.metadata !== undefined && maybe.metadata !== null && 'encoding' in maybe.metadata) {
    found.push({ encoding: Buffer.from(maybe.metadata.encoding!).toString(), data: Buffer.from(maybe.data ?? new Uint8Array()) });
    return found;
  }
  for (const child of Object.values(value)) rawPayloads(child, found);
  return found;
}

describe('with CAPSULE_PAYLOAD_KEY set', () => {
  let workflowId: string;

  it('stores ciphertext only, in history and in the blob store, and decrypts the result with the key', async () => {
    const file = h.writePipeline({
      name: 'encrypted',
      input: { marker: MARKER },
      steps: [
        { id: 'big', task: `${TASKS}large-data.ts#produce`, input: { seed: 31, mb: 1 } },
        { id: 'secret', task: path.join(base, 'secret.ts'), input: { big: '{{ steps.big.output }}', marker: '{{ input.marker }}' } },
      ],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(outcome.result!.output).toEqual({ note: `${MARKER} in the result`, size: 1024 * 1024, echo: makeData(31, 1).slice(0, 64) });
    workflowId = outcome.workflowId;

    // A client with no codec reads the history as the server stores it.
    const connection = await Connection.connect({ address: h.address });
    try {
      const raw = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
      const payloads = rawPayloads(raw);
      expect(payloads.length).toBeGreaterThan(5);
      const encodings = new Set(payloads.map((p) => p.encoding));
      expect([...encodings].sort()).toEqual(['binary/encrypted', 'json/protobuf']);
      // json/protobuf: the claim-check references (sha256, size, media type), the only plaintext.
      for (const p of payloads) {
        expect(p.data.includes(MARKER)).toBe(false);
        expect(p.data.includes(makeData(31, 1).slice(0, 64))).toBe(false);
      }
      const reference = payloads.find((p) => p.encoding === 'json/protobuf')!;
      expect(JSON.parse(reference.data.toString())).toMatchObject({ driverName: 'capsule.blobs', claimData: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), media_type: 'binary/encrypted' } });
    } finally {
      await connection.close();
    }
    // The blobs hold ciphertext too.
    const dir = h.payloads.store.location;
    const blobs = readdirSync(dir).flatMap((shard) => readdirSync(path.join(dir, shard)).map((name) => readFileSync(path.join(dir, shard, name))));
    expect(blobs.length).toBeGreaterThanOrEqual(2);
    for (const blob of blobs) expect(blob.includes(makeData(31, 1).slice(0, 64))).toBe(false);
  });

  it('fails clearly where the key is wrong or missing: capsule result exits 2 naming the key id', async () => {
    for (const [env, message] of [
      [{ CAPSULE_PAYLOAD_KEY: `prod-1:${randomBytes(32).toString('base64')}` }, /cannot decrypt a payload encrypted with key id "prod-1": the key CAPSULE_PAYLOAD_KEY gives for "prod-1" is not the one it was encrypted with/],
      [{ CAPSULE_PAYLOAD_KEY: `other:${randomBytes(32).toString('base64')}` }, /encrypted with key id "prod-1", which CAPSULE_PAYLOAD_KEY does not hold \(it has: other\)/],
      [{ CAPSULE_PAYLOAD_KEY: '' }, /is encrypted \(key id "prod-1"\) but CAPSULE_PAYLOAD_KEY is not set/],
    ] as const) {
      const err: string[] = [];
      const io = { cwd: base, out: () => {}, err: (l: string) => err.push(l), tty: false, env: { ...process.env, TEMPORAL_ADDRESS: h.address, ...env } };
      expect(await resultCommand({ workflowId, io })).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  it('a worker with the wrong key fails its workflow tasks with that message (history shows it)', async () => {
    const wrong = openPayloadLayer({ ...h.payloads.settings, keyring: parseKeyring(`prod-1:${randomBytes(32).toString('base64')}`) });
    const { NativeConnection } = await import('@temporalio/worker');
    const { createWorker } = await import('../../src/client/worker.js');
    const taskQueue = h.queue('wrong-key');
    const native = await NativeConnection.connect({ address: h.address });
    const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, sandbox: h.sandbox, dataConverter: wrong.dataConverter, workflowBundle: h.bundle, shutdownGraceTime: '1s' });
    const running = worker.run();
    const file = h.writePipeline({ name: 'wrong-key', steps: [{ id: 'only', task: path.join(base, 'secret.ts'), input: { big: 'x' } }] });
    const { handle } = await h.start(file, taskQueue, { baseDir: base, record: false });
    try {
      let failure: string | undefined;
      for (let i = 0; i < 120 && failure === undefined; i++) {
        const events = (await handle.fetchHistory()).events ?? [];
        failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
        if (failure === undefined) await new Promise((r) => setTimeout(r, 250));
      }
      expect(failure).toMatch(/cannot decrypt a payload encrypted with key id "prod-1"/);
      // `capsule run`/`watch` say why nothing moves instead of waiting in silence.
      const lines: string[] = [];
      const stop = new Promise<void>((resolve) => setTimeout(resolve, 3000));
      await showProgress(handle, new Promise(() => {}), { tty: false, write: (l) => lines.push(l), stop });
      expect(lines.join('\n')).toMatch(/no worker can process the pipeline \(attempt \d+\): cannot decrypt a payload encrypted with key id "prod-1"/);
    } finally {
      await handle.terminate('test: the worker has the wrong key');
      worker.shutdown();
      await running;
      await native.close();
      await wrong.close();
    }
  });
});

function postWithHost(url: string, host: string, body: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: '/decode', method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('capsule codec-server', () => {
  it('runs as a command with the payload settings of its directory until interrupted', async () => {
    let stop!: () => void;
    const interrupted = new Promise<void>((resolve) => (stop = resolve));
    const out: string[] = [];
    let url = '';
    const io = { cwd: base, out: (l: string) => out.push(l), err: (l: string) => out.push(l), tty: false, env: { ...process.env, CAPSULE_PAYLOAD_KEY: KEY }, interrupted };
    const running = codecServer({ port: 0, uiOrigins: ['http://127.0.0.1:8233'], io, onListening: (u) => (url = u) });
    while (url === '') await new Promise((r) => setTimeout(r, 50));
    expect(out[0]).toMatch(/^codec server at http:\/\/127\.0\.0\.1:\d+ for http:\/\/127\.0\.0\.1:8233 \(encryption key "prod-1" active, 1 key\(s\) in all\)/);
    const [sealed] = await h.payloads.codecs[1]!.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hi"') }]);
    const body = JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(sealed!.data!).toString('base64') }] });
    const reply = (await (await fetch(`${url}/decode`, { method: 'POST', body })).json()) as { payloads: { data: string }[] };
    expect(Buffer.from(reply.payloads[0]!.data, 'base64').toString()).toBe('"hi"');
    stop();
    expect(await running).toBe(0);
  });

  it('decodes for the allowed UI origin only, answers CORS preflights, and refuses other hosts', async () => {
    const ui = 'http://127.0.0.1:8233';
    const server = await startCodecServer({ codecs: h.payloads.codecs, origins: [ui] });
    try {
      let encoded: Payload[] = [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(MARKER)) }];
      for (const codec of h.payloads.codecs) encoded = await codec.encode(encoded);
      const sealed = encoded[0];
      const body = JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(sealed!.data!).toString('base64') }] });
      const preflight = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin: ui, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(ui);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');

      const decoded = await fetch(`${server.url}/some/prefix/decode`, { method: 'POST', headers: { origin: ui, 'content-type': 'application/json', 'x-namespace': 'default' }, body });
      expect(decoded.status).toBe(200);
      const payload = ((await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads[0]!;
      expect(Buffer.from(payload.metadata.encoding!, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(payload.data, 'base64').toString())).toBe(MARKER);

      expect((await fetch(`${server.url}/decode`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body })).status).toBe(403);
      // DNS rebinding: a page of another site resolving its name to 127.0.0.1 sends its own Host.
      expect(await postWithHost(server.url, 'evil.example', body)).toBe(403);
      expect((await fetch(`${server.url}/decode`, { method: 'POST', body: '{"nope":1}' })).status).toBe(400);
    } finally {
      await server.close();
    }
  });
});
