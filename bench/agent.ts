/**
 * Code steps (issue 15): what one attempt of a code step costs in the worker (activities/run-code.ts: bundle the
 * text, run it as a program with the step's options), for code that declares nothing (`def main` / `function main`)
 * and for code that declares options with task() / @task, which is described once more in a capability-less guest to
 * record what it asked for and did not get. The floor is the same program run without the code-step layer
 * (bundleSource + Sandbox.run). 30 sequential runs each after 5 warm-up runs, interleaved in blocks of 10; every
 * run's source is different (a comment with a serial number), as a model's code is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCode } from '../src/activities/run-code.js';
import { bundleSource, Sandbox } from '../src/sandbox/index.js';
import type { CodeLanguage, CodeRef } from '../src/workflows/shared.js';
import { summary, tableWriter, timed } from './stats.js';

const RUNS = 30;
const WARM_UP = 5;

const SOURCES: Record<'javascript' | 'python', { plain: string; declared: string }> = {
  javascript: {
    plain: 'function main(input) { return { doubled: input.n * 2 }; }',
    declared: "import { task } from 'capsule';\nexport const main = task({ name: 'main', compute: 'HIGH', allowedHosts: ['example.com'] }, (input) => ({ doubled: input.n * 2 }));",
  },
  python: {
    plain: 'def main(input):\n    return {"doubled": input["n"] * 2}\n',
    declared: 'from capsule import task\n\n@task(name="main", compute="HIGH", allowed_hosts=["example.com"])\ndef main(input):\n    return {"doubled": input["n"] * 2}\n',
  },
};

export async function benchAgent(): Promise<string[]> {
  const { lines, out } = tableWriter();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-agent-'));
  const sandbox = await Sandbox.create({ languages: ['js', 'python'] });
  const options = { compute: 'LOW', timeout: '10s' };
  try {
    out('| language | code step, code declaring nothing | code step, code declaring options (described too) | floor: bundleSource + Sandbox.run |');
    out('|---|---|---|---|');
    for (const language of ['javascript', 'python'] as const satisfies readonly CodeLanguage[]) {
      const ref: CodeRef = { language, options, timeout: 10_000, maxRetries: 0, maxLostAttempts: 0 };
      // Each run's source is new, as a model's code is: nothing is cached by content (bundles, descriptions).
      let serial = 0;
      const fresh = (source: string) => `${source}\n${language === 'python' ? '#' : '//'} run ${++serial}\n`;
      const step = (source: string) => async (i: number) => {
        const { envelope } = await runCode(sandbox, ref, fresh(source), { args: [{ n: i }], baseDir: dir, defaults: {} });
        if (!envelope.success) throw new Error(`${language} run ${i} failed: ${envelope.error?.message}`);
      };
      const floor = async (i: number) => {
        const bundle = await bundleSource({ language, source: fresh(SOURCES[language].plain) });
        const envelope = await sandbox.run({ bundle, args: [{ n: i }], baseDir: dir, options });
        if (!envelope.success) throw new Error(`${language} floor ${i} failed: ${envelope.error?.message}`);
      };
      const plain = step(SOURCES[language].plain);
      const declared = step(SOURCES[language].declared);
      await timed(WARM_UP, plain);
      await timed(WARM_UP, declared);
      await timed(WARM_UP, floor);
      const samples = { plain: [] as number[], declared: [] as number[], floor: [] as number[] };
      for (let block = 0; block < RUNS / 10; block++) {
        samples.plain.push(...(await timed(10, plain)));
        samples.declared.push(...(await timed(10, declared)));
        samples.floor.push(...(await timed(10, floor)));
      }
      out(`| ${language} | ${summary(samples.plain)} | ${summary(samples.declared)} | ${summary(samples.floor)} |`);
    }
    return lines;
  } finally {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchAgent();
  process.exit(0);
}
