/**
 * The host API's exec (issue 14): per-call latency for a trivial task, warm (the sandbox pool's threads and the
 * runtime stay loaded between calls), for a task file and for code given as text, against the floor in the same
 * run: Sandbox.run of the same task already bundled and described (what a call costs without exec's work: bundling
 * the file, reading its options, resolving capsule.toml). The original Capsule claims "7-10 ms per call" for its
 * `run()` from host code; that figure is from another machine, so the ratio to the floor is the comparable one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Capsule } from '../src/host/index.js';
import { bundleTaskFile, Sandbox } from '../src/sandbox/index.js';
import { percentile, summary, tableWriter, timed } from './stats.js';

const TRIVIAL = fileURLToPath(new URL('./temporal-tasks/trivial.ts', import.meta.url));
const CALLS = 200;
const WARM_UP = 20;
const SOURCE = 'function main(input) { return { n: input.n + 1 }; }';

export async function benchHost(): Promise<string[]> {
  const { lines, out } = tableWriter();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-host-'));
  // No server is configured and exec needs none: connect() starts nothing but the sandbox pool.
  const capsule = await Capsule.connect({ cwd: dir, env: { PATH: process.env.PATH } });
  const floorSandbox = await Sandbox.create();
  try {
    const bundle = await bundleTaskFile(TRIVIAL);
    await floorSandbox.describe(bundle, { baseDir: dir });
    const check = (n: number, result: unknown) => {
      if ((result as { n?: number } | null)?.n !== n + 1) throw new Error(`call ${n} returned ${JSON.stringify(result)}`);
    };
    const execFile = async (i: number) => check(i, (await capsule.exec(TRIVIAL, { n: i })).result);
    const execSource = async (i: number) => check(i, (await capsule.exec({ language: 'javascript', source: SOURCE }, { n: i }, { compute: 'LOW' })).result);
    const floor = async (i: number) => check(i, (await floorSandbox.run({ bundle, args: [{ n: i }], baseDir: dir })).result);
    for (const call of [execFile, execSource, floor]) await timed(WARM_UP, call);
    // Interleaved in blocks of 20, so all three see the same machine.
    const file: number[] = [];
    const source: number[] = [];
    const base: number[] = [];
    for (let block = 0; block < CALLS / 20; block++) {
      file.push(...(await timed(20, execFile)));
      source.push(...(await timed(20, execSource)));
      base.push(...(await timed(20, floor)));
    }
    const ratio = (samples: number[]) => `${(percentile(samples, 50) / percentile(base, 50)).toFixed(2)}x the floor at p50`;
    out('| measure | result | baseline (same run) |');
    out('|---|---|---|');
    out(`| \`capsule.exec('trivial.ts', input)\`, warm, ${CALLS} sequential calls | ${summary(file)} (${ratio(file)}; issue 17's target: p50 <= 5.45 ms, the original's worker) | Sandbox.run of the same task, bundled and described once: ${summary(base)} |`);
    out(`| \`capsule.exec({ language: 'javascript', source }, input, { compute: 'LOW' })\`, ${CALLS} calls | ${summary(source)} (${ratio(source)}) | the same floor |`);
    out(`| the original Capsule's claim for \`run()\` from host code | 7-10 ms per call (its README; another machine) | — |`);
    return lines;
  } finally {
    await capsule.close();
    await floorSandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchHost();
  process.exit(0);
}
