/**
 * `capsule gc` on a real server: blobs of open and recently closed runs stay, orphans older than the grace period
 * go, fresh orphans stay; once a run is past retention its blobs go too, and reading them back then fails with a
 * message that says why.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gc } from '../../src/cli/commands/gc.js';
import { result as resultCommand } from '../../src/cli/commands/result.js';
import { collectGarbage } from '../../src/payloads/gc.js';
import { createHarness, TASKS, type Harness } from '../temporal/helpers.js';

const DAY = 86_400_000;
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function addresses(): Promise<string[]> {
  const all: string[] = [];
  for await (const blob of h.payloads.store.list()) all.push(blob.address);
  return all;
}

/** A blob no run refers to, last touched `ageMs` ago. */
async function orphan(text: string, ageMs: number): Promise<string> {
  const bytes = Buffer.from(text);
  const address = createHash('sha256').update(bytes).digest('hex');
  await h.payloads.store.put(address, bytes);
  const when = new Date(Date.now() - ageMs);
  utimesSync(path.join(h.payloads.store.location, address.slice(0, 2), address), when, when);
  return address;
}

it('keeps what runs refer to and what is recent, deletes old orphans, and applies retention to closed runs', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'capsule-gc-'));
  mkdirSync(path.join(base, 'data'));
  writeFileSync(path.join(base, 'data', 'big.txt'), '');
  const file = h.writePipeline({ name: 'gc', steps: [{ id: 'a', task: `${TASKS}large-data.ts#produce`, input: { seed: 21, mb: 1 } }] });
  const outcome = await h.run(file, { baseDir: base });
  expect(outcome.status, outcome.message).toBe('succeeded');
  const referenced = await addresses();
  expect(referenced.length).toBeGreaterThanOrEqual(2); // the step's result and the workflow's output
  const old = await orphan('an old orphan', 2 * DAY);
  const fresh = await orphan('a fresh orphan', 0);

  // The command, dry run: it names what would go and deletes nothing.
  const out: string[] = [];
  const io = { cwd: base, out: (l: string) => out.push(l), err: () => {}, tty: false, env: { ...process.env, TEMPORAL_ADDRESS: h.address } };
  expect(await gc({ dryRun: true, json: true, io })).toBe(0);
  expect(JSON.parse(out[0]!)).toMatchObject({ dryRun: true, deleted: 0, addresses: [old], referenced: referenced.length, recent: 1 });
  expect(await addresses()).toContain(old);

  expect(await gc({ json: true, io })).toBe(0);
  expect(JSON.parse(out[1]!)).toMatchObject({ deleted: 1, addresses: [old] });
  expect((await addresses()).sort()).toEqual([...referenced, fresh].sort());

  // Eight days later the run is past a 7-day retention and nothing is within the grace period: all goes.
  const later = await collectGarbage({ client: h.client.workflow, store: h.payloads.store, retentionMs: 7 * DAY, graceMs: 3_600_000, now: new Date(Date.now() + 8 * DAY) });
  expect(later.deleted).toBe(referenced.length + 1);
  expect(await addresses()).toEqual([]);

  // Its values are gone for good, and asking for them says so.
  const err: string[] = [];
  expect(await resultCommand({ workflowId: outcome.workflowId, step: 'a', io: { ...io, err: (l) => err.push(l) } })).toBe(2);
  expect(err.join('\n')).toMatch(/blob [0-9a-f]{64} \(.*\) is not in the local blob store at .*: it was removed by `capsule gc`/);
});
