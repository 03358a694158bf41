/**
 * Fuel for data crossing the sandbox's boundary (issue 17): what a task pays per byte to return a result, write a
 * file or read one, in JavaScript and Python, against the same string serialised inside the task (a baseline of
 * the same run). Each figure is the difference of a 1 MiB and a 1 KiB run divided by the bytes between, so the
 * run's fixed cost cancels out. Fuel is deterministic: one run of each is the figure.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTaskFile, Sandbox, type TaskBundle } from '../src/sandbox/index.js';
import { tableWriter } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SMALL = 1024;
const LARGE = 1024 * 1024;

/** In the order they run: the writes make the files the reads read. */
const MOVES = [
  ['serialise', 'baseline: JSON.stringify of the string inside the task (never leaves)'],
  ['returnText', 'return a string result'],
  ['writeText', 'write a text file'],
  ['writeBytes', 'write bytes (a Uint8Array / bytes)'],
  ['readText', 'read a text file'],
  ['readBytes', 'read bytes'],
] as const;

async function fuelPerByte(sandbox: Sandbox, bundle: TaskBundle, task: string, baseDir: string): Promise<number> {
  const fuel = async (n: number) => {
    const envelope = await sandbox.run({ bundle, task, args: [n], baseDir });
    if (!envelope.success) throw new Error(`${task}(${n}) failed: ${envelope.error?.message}`);
    return envelope.execution.fuel_consumed;
  };
  // A read's size is the file's, written by the run before at the same size.
  if (task.startsWith('read')) {
    const write = task === 'readText' ? 'writeText' : 'writeBytes';
    await sandbox.run({ bundle, task: write, args: [SMALL], baseDir });
    const small = await fuel(SMALL);
    await sandbox.run({ bundle, task: write, args: [LARGE], baseDir });
    return ((await fuel(LARGE)) - small) / (LARGE - SMALL);
  }
  return ((await fuel(LARGE)) - (await fuel(SMALL))) / (LARGE - SMALL);
}

export async function benchBoundary(): Promise<string[]> {
  const { lines, out } = tableWriter();
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-boundary-'));
  mkdirSync(path.join(baseDir, 'data'));
  const sandbox = await Sandbox.create({ languages: ['js', 'python'] });
  try {
    const js = await bundleTaskFile(path.join(here, 'tasks/boundary.ts'));
    const py = await bundleTaskFile(path.join(here, 'tasks/boundary.py'));
    out('| 1 MiB moved (fuel per byte, 1 MiB run minus 1 KiB run) | JavaScript | x baseline | Python | x baseline |');
    out('|---|---|---|---|---|');
    const baseline = { js: 0, py: 0 };
    for (const [task, what] of MOVES) {
      const perByte = { js: await fuelPerByte(sandbox, js, task, baseDir), py: await fuelPerByte(sandbox, py, task, baseDir) };
      if (task === 'serialise') Object.assign(baseline, perByte);
      const ratio = (language: 'js' | 'py') => (task === 'serialise' ? '1' : (perByte[language] / baseline[language]).toFixed(1));
      out(`| ${what} | ${perByte.js.toFixed(1)} | ${ratio('js')} | ${perByte.py.toFixed(1)} | ${ratio('py')} |`);
    }
    out('');
    out('Target (issue 17): moving a byte across the boundary costs the same order as serialising it inside the task.');
  } finally {
    await sandbox.close();
    rmSync(baseDir, { recursive: true, force: true });
  }
  return lines;
}
