/**
 * Large values through pipelines on a real server: step results, activity inputs (a fan-in), task bundles and
 * captured output far above Temporal's 2 MB payload limit go to the blob store, history keeps references, and every
 * value arrives intact. A value above what Capsule moves fails at once, naming the step and the sizes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { result as resultCommand } from '../../src/cli/commands/result.js';
import type { CommandIo } from '../../src/cli/io.js';
import { MAX_VALUE_BYTES } from '../../src/workflows/shared.js';
import { makeData } from './fixtures/tasks/make-data.js';
import { createHarness, TASKS, type Harness } from './helpers.js';

const MB = 1024 * 1024;
let h: Harness;
/** Where the pipelines run: ./data holds the 20 MB input file (every task of the fixture file is validated). */
const base = path.join(os.tmpdir(), `capsule-large-${process.pid}`);
beforeAll(async () => {
  h = await createHarness();
  mkdirSync(path.join(base, 'data'), { recursive: true });
  writeFileSync(path.join(base, 'data', 'big.txt'), makeData(7, 20));
});
afterAll(async () => {
  await h.replayAll();
  await h.close();
});

const task = (name: string) => `${TASKS}large-data.ts#${name}`;

/** The server's own measure of a run's history. */
async function historyBytes(workflowId: string): Promise<number> {
  const { raw } = await h.client.workflow.getHandle(workflowId).describe();
  return Number(raw.workflowExecutionInfo?.historySizeBytes ?? Number.NaN);
}

async function blobCount(): Promise<number> {
  let n = 0;
  for await (const _ of h.payloads.store.list()) n++;
  return n;
}

function cliIo(): { io: CommandIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const env = { ...process.env, TEMPORAL_ADDRESS: h.address };
  return { io: { cwd: os.tmpdir(), out: (l) => out.push(l), err: (l) => err.push(l), tty: false, env }, out, err };
}

describe('large data through a pipeline', () => {
  it('chains three steps returning 5 MB each, each receiving the previous intact, and fans all three into one step', async () => {
    const before = await blobCount();
    const file = h.writePipeline({
      name: 'five-mb',
      steps: [
        { id: 'a', task: task('produce'), input: { seed: 1, mb: 5 } },
        { id: 'b', task: task('produce'), input: { seed: 2, mb: 5, previous: { seed: 1, mb: 5, value: '{{ steps.a.output }}' } } },
        { id: 'c', task: task('produce'), input: { seed: 3, mb: 5, previous: { seed: 2, mb: 5, value: '{{ steps.b.output }}' } } },
        { id: 'fanin', task: task('check'), input: { values: ['{{ steps.a.output }}', '{{ steps.b.output }}', '{{ steps.c.output }}'], seeds: [1, 2, 3], mb: 5 } },
      ],
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(outcome.result!.output).toEqual({ intact: [true, true, true], lengths: [5 * MB, 5 * MB, 5 * MB] });
    for (const id of ['a', 'b', 'c']) expect(outcome.result!.steps.find((s) => s.id === id)?.execution?.result_bytes).toBe(5 * MB + 2);
    // Outputs, the inputs that carried them and the 15 MB fan-in input are blobs; history holds references.
    expect(await blobCount()).toBeGreaterThanOrEqual(before + 6);
    expect(await historyBytes(outcome.workflowId)).toBeLessThan(MB);

    // The full value comes back through the CLI, from the blob store.
    const out = path.join(os.tmpdir(), `capsule-step-b-${process.pid}.json`);
    const cli = cliIo();
    expect(await resultCommand({ workflowId: outcome.workflowId, step: 'b', out, io: cli.io })).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toBe(makeData(2, 5));
    expect(cli.err.join('\n')).toContain('(5.0MB)');
    // And the pipeline's output, whole, with the summary table on stdout.
    const outputFile = path.join(os.tmpdir(), `capsule-output-${process.pid}.json`);
    expect(await resultCommand({ workflowId: outcome.workflowId, out: outputFile, io: cli.io })).toBe(0);
    expect(JSON.parse(readFileSync(outputFile, 'utf8'))).toEqual(outcome.result!.output);
    expect(cli.out.join('\n')).toMatch(/output: written to .*capsule-output-\d+\.json \(/);
    expect(cli.out.join('\n')).toMatch(/^fanin +succeeded +1 /m);
  });

  it('reads a 20 MB input file in one step and runs a 20 MB bundled task', async () => {
    // A task whose bundle inlines 20 MB of data: the workflow input (its code) is claim-checked too.
    writeFileSync(path.join(base, 'blob.ts'), `export const blob = ${JSON.stringify(makeData(9, 20))};\n`);
    writeFileSync(path.join(base, 'bundled.ts'), [
      "import { task } from 'capsule';",
      "import { blob } from './blob.js';",
      // HIGH: the guest parses its bundle at ~150 wasm instructions a byte, so 20 MB is ~3e9, above the default MEDIUM.
      "export const main = task({ name: 'main', ram: '512MB', compute: 'HIGH' }, () => ({ length: blob.length, head: blob.slice(0, 8) }));",
    ].join('\n'));
    const file = h.writePipeline({
      name: 'twenty-mb',
      steps: [
        { id: 'read', task: task('readData') },
        { id: 'verify', task: task('check'), input: { values: ['{{ steps.read.output }}'], seeds: [7], mb: 20 } },
        { id: 'bundled', task: path.join(base, 'bundled.ts') },
      ],
      output: { verify: '{{ steps.verify.output }}', bundled: '{{ steps.bundled.output }}' },
    });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(outcome.result!.output).toEqual({ verify: { intact: [true], lengths: [20 * MB] }, bundled: { length: 20 * MB, head: makeData(9, 1).slice(0, 8) } });
    expect(await historyBytes(outcome.workflowId)).toBeLessThan(MB);
  });

  it('completes two steps that each print 10 MB (captured output capped, the records claim-checked)', async () => {
    const file = h.writePipeline({ name: 'chatty', steps: [{ id: 'one', task: task('chatty'), input: 10 }, { id: 'two', task: task('chatty'), input: 10 }] });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status, outcome.message).toBe('succeeded');
    for (const step of outcome.result!.steps) {
      expect(step.execution).toMatchObject({ truncated: true, stdout_bytes: expect.any(Number) });
      expect(step.execution!.stdout_bytes).toBeGreaterThanOrEqual(MB - 1024);
      expect(step.execution!.stdout_bytes).toBeLessThanOrEqual(MB);
    }
    const envelopes = await h.envelopes(outcome);
    expect(envelopes.get('two')?.execution.stdout.length).toBe(outcome.result!.steps.find((s) => s.id === 'two')!.execution!.stdout_bytes);
    expect(await historyBytes(outcome.workflowId)).toBeLessThan(MB);
  });

  it(`fails a step whose result is over ${MAX_VALUE_BYTES / MB} MB once, naming the step and the size`, async () => {
    const file = h.writePipeline({ name: 'huge-result', steps: [{ id: 'huge', task: task('huge') }] });
    const outcome = await h.run(file, { baseDir: base });
    expect(outcome.status).toBe('failed');
    const step = outcome.result!.steps[0]!;
    expect(step.attempts).toBe(1);
    expect(step.error?.message).toMatch(/step "huge": the task returned 65\.0MB of JSON, more than a step may return \(64MB\)/);
    expect(outcome.message).toContain('huge');
  }, 300_000); // 65 MB built and serialised by an interpreter in Wasm: ~17 s on an idle machine, minutes on a loaded one
});
