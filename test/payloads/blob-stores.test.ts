/**
 * Both blob stores keep the same contract — a local directory, and PostgreSQL against a real server started by the
 * test — and a pipeline on a real Temporal server moves its large values through PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/payloads/blob-store.js';
import { LocalBlobStore } from '../../src/payloads/local-store.js';
import { PostgresBlobStore, redact } from '../../src/payloads/postgres-store.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { makeData } from '../temporal/fixtures/tasks/make-data.js';
import { createHarness, TASKS, type Harness } from '../temporal/helpers.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const blob = (text: string) => {
  const bytes = Buffer.from(text);
  return { bytes, address: createHash('sha256').update(bytes).digest('hex') };
};

async function list(store: BlobStore) {
  const all = [];
  for await (const info of store.list()) all.push(info);
  return all;
}

for (const [kind, open] of [
  ['local directory', () => new LocalBlobStore(mkdtempSync(path.join(os.tmpdir(), 'capsule-blobs-')))],
  ['PostgreSQL', () => new PostgresBlobStore(server.url)],
] as const) {
  describe(`the ${kind} blob store`, () => {
    it('stores, reads, lists and deletes content-addressed blobs; storing again only refreshes the blob', async () => {
      const store: BlobStore = open();
      try {
        const a = blob(`a ${kind} ${Date.now()}`);
        const b = blob(`b ${kind} ${Date.now()}`);
        expect(await store.get(a.address)).toBeUndefined();
        // Two writers of one blob at once both succeed.
        await Promise.all([store.put(a.address, a.bytes), store.put(a.address, a.bytes), store.put(b.address, b.bytes)]);
        expect(Buffer.from((await store.get(a.address))!).toString()).toBe(a.bytes.toString());
        const first = (await list(store)).find((i) => i.address === a.address)!;
        expect(first.size).toBe(a.bytes.length);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await store.put(a.address, a.bytes);
        const touched = (await list(store)).find((i) => i.address === a.address)!;
        expect(touched.touchedAt.getTime()).toBeGreaterThan(first.touchedAt.getTime());
        expect(await store.delete([a.address, a.address.replace(/^./, a.address[0] === '0' ? '1' : '0')])).toBe(1);
        expect(await store.get(a.address)).toBeUndefined();
        expect((await list(store)).map((i) => i.address)).toContain(b.address);
        await expect(store.get('../../etc/passwd')).rejects.toThrow(/not a blob address/);
      } finally {
        await store.close();
      }
    });
  });
}

it('never shows the password of a PostgreSQL URL', () => {
  expect(redact('postgres://capsule:s3cret@db.internal:5432/capsule')).toBe('postgres://capsule:***@db.internal:5432/capsule');
});

describe('a pipeline with its blobs in PostgreSQL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ payloads: { store: { kind: 'postgres', url: server.url } } });
  });
  afterAll(async () => {
    await h?.replayAll();
    await h?.close();
  });

  it('moves 2 MB values between steps through the database', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-pg-run-'));
    mkdirSync(path.join(base, 'data'));
    writeFileSync(path.join(base, 'data', 'big.txt'), '');
    const task = (name: string) => `${TASKS}large-data.ts#${name}`;
    const file = h.writePipeline({
      name: 'pg-blobs',
      steps: [
        { id: 'a', task: task('produce'), input: { seed: 11, mb: 2 } },
        { id: 'b', task: task('produce'), input: { seed: 12, mb: 1, previous: { seed: 11, mb: 2, value: '{{ steps.a.output }}' } } },
      ],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(outcome.result!.output).toBe(makeData(12, 1));
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; largest: string }>('SELECT count(*) AS n, max(size) AS largest FROM capsule_blobs');
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(3); // a's result, b's input, b's result (and the output)
      expect(Number(rows[0]!.largest)).toBeGreaterThan(1024 * 1024); // compressed hex: about half of 2 MB + overhead
    } finally {
      await client.end();
    }
  });
});
