/**
 * Against the original Capsule (issue 17): the same unmodified task files run by both, in the same run, interleaved
 * sample by sample so both see the same machine. Ours runs as a user runs the installed package (compiled dist/,
 * bench/installed.ts); the original is its published native binary (bench/original.ts). Whole-process rows are
 * wall time from spawn to exit (bench/process-timing.ts); in-process rows are per call on a host API (ours) and a
 * `capsule worker` process (the original's), twice: 100 calls after 10 warm-up calls each, and 100 more after 300
 * further calls each (a long-lived host, whose V8 has compiled the runtime's hot code). Every figure is a median
 * unless marked.
 *
 * The original builds a .cwasm per task file on its first run (tens of seconds each); those builds happen once, all
 * four at once, before anything is timed, and are reported as such; row 6 times one more build per language.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Capsule } from '../src/host/index.js';
import { stageInstalledPackage, type InstalledPackage } from './installed.js';
import { installOriginal, linkJsSdk, OriginalWorker, ORIGINAL_CLI_PACKAGE, type OriginalCapsule, type OriginalEnvelope } from './original.js';
import { envWithout, timeProcess, type ProcessSample } from './process-timing.js';
import { median, percentile, tableWriter, timed } from './stats.js';

const LOW_FUEL = 100_000_000;
const CPU_N = { js: 30_000_000, py: 3_000_000 } as const;
// Per call: the first `worker` calls after `workerWarmUp`, then again after `workerSettle` more (a long-lived host:
// V8 goes on compiling the sandbox runtime's hot functions with TurboFan for the first few hundred calls).
const SAMPLES = { help: 10, trivial: 8, cpu: 3, worker: 100, workerWarmUp: 10, workerSettle: 300 } as const;
const CA_CERTS_ENV = 'NODE_EXTRA_CA_CERTS';

type Language = 'js' | 'py';
const LANGUAGES: Language[] = ['js', 'py'];
const LANGUAGE_NAME: Record<Language, string> = { js: 'JavaScript', py: 'Python' };

/**
 * The task files, written for the original SDK and run unmodified by both: main(n) sums 0..n-1 (n arrives as a
 * string, as command-line arguments do); with no argument it is a trivial task. LOW for the trivial and the
 * fuel rows, HIGH (50,000,000,000 fuel on both sides) for the CPU-bound rows, so both finish.
 */
function taskSource(language: Language, compute: 'LOW' | 'HIGH', comment = ''): string {
  if (language === 'js') {
    return [
      `import { task } from "@capsule-run/sdk";${comment === '' ? '' : ` // ${comment}`}`,
      '',
      `export const main = task({ name: "main", compute: "${compute}" }, (n) => {`,
      '  const count = Number(n ?? 0);',
      '  let total = 0;',
      '  for (let i = 0; i < count; i++) total += i;',
      '  return { n: count, total };',
      '});',
      '',
    ].join('\n');
  }
  return [
    `from capsule import task${comment === '' ? '' : `  # ${comment}`}`,
    '',
    '',
    `@task(name="main", compute="${compute}")`,
    'def main(n="0"):',
    '    count = int(n)',
    '    total = 0',
    '    for i in range(count):',
    '        total += i',
    '    return {"n": count, "total": total}',
    '',
  ].join('\n');
}

interface TaskFile {
  dir: string;
  file: string;
}

const s = (milliseconds: number) => (milliseconds >= 1000 ? `${(milliseconds / 1000).toFixed(2)} s` : `${milliseconds.toFixed(milliseconds < 10 ? 2 : 0)} ms`);
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const ratio = (ours: number, original: number) => `${(ours / original).toFixed(ours / original < 0.1 ? 3 : 2)}x`;
const log = (line: string) => process.stderr.write(`versus: ${line}\n`);

export async function benchVersus(): Promise<string[]> {
  const { lines, out } = tableWriter();
  const work = mkdtempSync(path.join(os.tmpdir(), 'capsule-versus-'));
  let installed: InstalledPackage | undefined;
  let original: OriginalCapsule | undefined;
  let capsule: Capsule | undefined;
  const rows: string[] = [];
  const notes: string[] = [];
  let serverPid: () => number | undefined = () => undefined;
  try {
    const setupStarted = performance.now();
    installed = stageInstalledPackage();
    original = await installOriginal(log);
    log(`set up in ${s(performance.now() - setupStarted)}`);
    const ours = installed;
    const orig = original;
    // `capsule exec` reaches a resident exec server (started by the first call) as a user's would; the bench's own
    // runtime directory keeps that server apart from any other, and it is stopped at the end.
    const runtimeDir = path.join(work, 'xdg-runtime');
    mkdirSync(runtimeDir, { mode: 0o700 });
    const oursEnv: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };
    delete oursEnv.CAPSULE_EXEC_SERVER;
    const inProcessEnv: NodeJS.ProcessEnv = { ...oursEnv, CAPSULE_EXEC_SERVER: 'off' };
    serverPid = () => execServerPid(runtimeDir);
    const oursRun = (args: string[], cwd: string, env: NodeJS.ProcessEnv = oursEnv) => timeProcess(process.execPath, [ours.bin, ...args], { cwd, env });
    const origRun = (args: string[], cwd: string) => timeProcess(orig.bin, args, { cwd, env: orig.env });

    // Each task file in a directory of its own: the original keeps its cache (.capsule/) in the working directory and
    // fingerprints every source file of the task's directory.
    const write = (name: string, language: Language, source: string): TaskFile => {
      const dir = path.join(work, name);
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `task.${language}`);
      writeFileSync(file, source);
      if (language === 'js' && orig.jsSdk !== undefined) linkJsSdk(dir, orig.jsSdk);
      return { dir, file };
    };
    const low = { js: write('low-js', 'js', taskSource('js', 'LOW')), py: write('low-py', 'py', taskSource('py', 'LOW')) };
    const high = { js: write('high-js', 'js', taskSource('js', 'HIGH')), py: write('high-py', 'py', taskSource('py', 'HIGH')) };
    const can = (language: Language) => language === 'py' || orig.jsSdk !== undefined;
    const missing = (language: Language) => (can(language) ? '' : `not run: ${orig.jsSdkMissing}`);

    const oursExec = async (task: TaskFile, args: string[] = [], env: NodeJS.ProcessEnv = oursEnv) => {
      const sample = await oursRun(['exec', '--json', task.file, ...args], task.dir, env);
      return { sample, envelope: parseEnvelope(sample, `ours: exec ${task.file}`) };
    };
    const origExec = async (task: TaskFile, args: string[] = []) => {
      const sample = await origRun(['run', '--json', task.file, ...args], task.dir);
      return { sample, envelope: parseEnvelope(sample, `original: run ${task.file}`) };
    };

    // The original's one-time builds, all at once (not timed as a row), and one warm-up run of each file on ours.
    const buildStarted = performance.now();
    const builds = LANGUAGES.filter(can).flatMap((language) => [low[language], high[language]]);
    const built = await Promise.all(builds.map((task) => origExec(task)));
    for (const [i, { envelope }] of built.entries()) if (!envelope.success) throw new Error(`original: ${builds[i]!.file}: ${JSON.stringify(envelope.error)}`);
    notes.push(`The original's one-time builds of the ${builds.length} task files, run together before any row: ${s(performance.now() - buildStarted)}.`);
    for (const language of LANGUAGES) for (const task of [low[language], high[language]]) expectSuccess((await oursExec(task)).envelope, `ours: ${task.file}`);

    // 1. capsule --help, with node's own start-up as the floor, with and without NODE_EXTRA_CA_CERTS.
    log('row 1: --help');
    const help = { ours: [] as number[], oursBare: [] as number[], node: [] as number[], nodeBare: [] as number[], orig: [] as number[] };
    const bare = envWithout(oursEnv, CA_CERTS_ENV);
    for (let i = 0; i < SAMPLES.help; i++) {
      help.ours.push((await oursRun(['--help'], work)).ms);
      help.orig.push((await origRun(['--help'], work)).ms);
      help.oursBare.push((await oursRun(['--help'], work, bare)).ms);
      help.node.push((await timeProcess(process.execPath, ['-e', '0'], { cwd: work, env: oursEnv })).ms);
      help.nodeBare.push((await timeProcess(process.execPath, ['-e', '0'], { cwd: work, env: bare })).ms);
    }
    rows.push(
      `| \`capsule --help\`, whole process (${SAMPLES.help} each) | ${s(median(help.ours))}; without ${CA_CERTS_ENV}: ${s(median(help.oursBare))} | ${s(median(help.orig))} | ${ratio(median(help.ours), median(help.orig))} | floor \`node -e 0\`: ${s(median(help.node))}; without ${CA_CERTS_ENV}: ${s(median(help.nodeBare))} (ours above node: ${s(median(help.ours) - median(help.node))}) |`,
    );

    // 2 and 5. Warm whole process, trivial task; peak RSS of the same processes.
    const rss: Record<Language, { ours: number[]; inProcess: number[]; orig: number[] }> = { js: { ours: [], inProcess: [], orig: [] }, py: { ours: [], inProcess: [], orig: [] } };
    for (const language of LANGUAGES) {
      log(`row 2: warm whole process, trivial ${LANGUAGE_NAME[language]}`);
      const oursMs: number[] = [];
      const inProcessMs: number[] = [];
      const origMs: number[] = [];
      for (let i = 0; i < SAMPLES.trivial; i++) {
        const ourSample = await oursExec(low[language]);
        expectSuccess(ourSample.envelope, 'ours: trivial');
        oursMs.push(ourSample.sample.ms);
        rss[language].ours.push(ourSample.sample.maxRssKiB);
        const here = await oursExec(low[language], [], inProcessEnv);
        expectSuccess(here.envelope, 'ours: trivial, in its own process');
        inProcessMs.push(here.sample.ms);
        rss[language].inProcess.push(here.sample.maxRssKiB);
        if (!can(language)) continue;
        const origSample = await origExec(low[language]);
        expectSuccess(origSample.envelope, 'original: trivial');
        origMs.push(origSample.sample.ms);
        rss[language].orig.push(origSample.sample.maxRssKiB);
      }
      rows.push(wholeRow(`warm whole process, trivial ${LANGUAGE_NAME[language]} task (\`exec\` / \`run\`, ${SAMPLES.trivial} each)`, oursMs, origMs, missing(language), `ours served by the resident exec server; in its own process (CAPSULE_EXEC_SERVER=off): ${s(median(inProcessMs))}`));
    }

    // 3. In-process per call: our host API against the original's worker, same file, sequential calls.
    capsule = await Capsule.connect({ cwd: work, env: { PATH: process.env.PATH } });
    for (const language of LANGUAGES) {
      log(`row 3: in-process per call, ${LANGUAGE_NAME[language]}`);
      if (!can(language)) {
        rows.push(`| in-process per call, trivial ${LANGUAGE_NAME[language]} | — | — | — | ${missing(language)} |`);
        continue;
      }
      const worker = new OriginalWorker(orig, low[language].dir);
      try {
        const oursCall = async () => expectSuccess(await capsule!.exec(low[language].file), 'ours: host API');
        const origCall = async () => expectSuccess(await worker.call(low[language].file), "original: worker");
        for (let i = 0; i < SAMPLES.workerWarmUp; i++) {
          await oursCall();
          await origCall();
        }
        // Interleaved in blocks of 20, so both sides see the same machine.
        const interleaved = async (calls: number) => {
          const oursMs: number[] = [];
          const origMs: number[] = [];
          for (let block = 0; block < calls / 20; block++) {
            oursMs.push(...(await timed(20, oursCall)));
            origMs.push(...(await timed(20, origCall)));
          }
          return { oursMs, origMs };
        };
        const row = (when: string, { oursMs, origMs }: { oursMs: number[]; origMs: number[] }) =>
          `| in-process per call, trivial ${LANGUAGE_NAME[language]} (ours: \`capsule.exec(file)\` on a connected host API; original: its \`worker\` mode), ${SAMPLES.worker} sequential calls ${when} | p50 ${s(median(oursMs))}, p95 ${s(percentile(oursMs, 95))} | p50 ${s(median(origMs))}, p95 ${s(percentile(origMs, 95))} | ${ratio(median(oursMs), median(origMs))} | |`;
        rows.push(row(`after ${SAMPLES.workerWarmUp} each`, await interleaved(SAMPLES.worker)));
        await interleaved(SAMPLES.workerSettle);
        rows.push(row(`after ${SAMPLES.workerWarmUp + SAMPLES.worker + SAMPLES.workerSettle} each (a long-lived host)`, await interleaved(SAMPLES.worker)));
      } finally {
        await worker.close();
      }
    }

    // 4. CPU-bound guests: the same loop, HIGH compute on both sides, whole process.
    for (const language of LANGUAGES) {
      log(`row 4: CPU-bound ${LANGUAGE_NAME[language]}`);
      const n = String(CPU_N[language]);
      const expected = (CPU_N[language] * (CPU_N[language] - 1)) / 2;
      const oursMs: number[] = [];
      const origMs: number[] = [];
      for (let i = 0; i < SAMPLES.cpu; i++) {
        const ourSample = await oursExec(high[language], [n]);
        expectTotal(ourSample.envelope, expected, 'ours: cpu');
        oursMs.push(ourSample.sample.ms);
        if (!can(language)) continue;
        const origSample = await origExec(high[language], [n]);
        expectTotal(origSample.envelope, expected, 'original: cpu');
        origMs.push(origSample.sample.ms);
      }
      rows.push(wholeRow(`CPU-bound ${LANGUAGE_NAME[language]} guest (sum 0..${CPU_N[language].toExponential(0).replace('+', '')}, compute HIGH), whole process (${SAMPLES.cpu} each)`, oursMs, origMs, missing(language)));
    }

    // 5. Peak RSS of the warm trivial runs above.
    for (const language of LANGUAGES) {
      const { ours: oursKiB, inProcess: inProcessKiB, orig: origKiB } = rss[language];
      const server = `the resident exec server (both runtimes, a warm pool) holds ${mib(serverRssKiB(serverPid()))}; in its own process: ${mib(median(inProcessKiB))}`;
      rows.push(
        can(language)
          ? `| peak RSS, trivial ${LANGUAGE_NAME[language]}, whole process (\`/usr/bin/time -f %M\`, the runs of row 2) | ${mib(median(oursKiB))} | ${mib(median(origKiB))} | ${ratio(median(oursKiB), median(origKiB))} | ${server} |`
          : `| peak RSS, trivial ${LANGUAGE_NAME[language]}, whole process | ${mib(median(oursKiB))} | — | — | ${missing(language)} |`,
      );
    }

    // 7. What compute: "LOW" buys: the largest n of the same loop that finishes within LOW's fuel, on each side.
    const oursLowLimit: Partial<Record<Language, number>> = {};
    for (const language of LANGUAGES) {
      log(`row 7: compute LOW, ${LANGUAGE_NAME[language]}`);
      const oursPasses = async (n: number) => fuelOutcome(await capsule!.exec(low[language].file, String(n)), 'ours');
      const oursGuess = await guessFromFuel(async (n) => (await capsule!.exec(high[language].file, String(n))).execution.fuel_consumed);
      const oursLimit = await largestPassing(oursPasses, oursGuess);
      oursLowLimit[language] = oursLimit;
      if (!can(language)) {
        rows.push(`| iterations \`compute: "LOW"\` buys, ${LANGUAGE_NAME[language]} loop | ${oursLimit.toLocaleString('en-US')} | — | — | ${missing(language)} |`);
        continue;
      }
      const origPasses = async (n: number) => fuelOutcome((await origExec(low[language], [String(n)])).envelope, 'original');
      const origGuess = await guessFromFuel(async (n) => (await origExec(high[language], [String(n)])).envelope.execution.fuel_consumed);
      const origLimit = await largestPassing(origPasses, origGuess);
      rows.push(
        `| iterations \`compute: "LOW"\` (${LOW_FUEL.toLocaleString('en-US')} fuel) buys, ${LANGUAGE_NAME[language]} loop (largest n that finishes, bisected to 0.5 %) | ${oursLimit.toLocaleString('en-US')} | ${origLimit.toLocaleString('en-US')} | ${ratio(oursLimit, origLimit)} | fuel per iteration: ours ~${(LOW_FUEL / oursLimit).toFixed(0)}, original ~${(LOW_FUEL / origLimit).toFixed(0)} |`,
      );
    }

    // Limits in worker mode: the original's worker keeps only the path of a file's built artifact after its first
    // call, so from the second call on it runs the task without the limits it declares (its default: unlimited fuel).
    // Two calls of the LOW JavaScript file with n past LOW on both sides, on a fresh worker and on our host API.
    if (can('js') && oursLowLimit.js !== undefined) {
      const n = String(Math.ceil(oursLowLimit.js * 1.5));
      const worker = new OriginalWorker(orig, low.js.dir);
      try {
        const describe = (envelope: OriginalEnvelope, side: 'ours' | 'original') =>
          fuelOutcome(envelope, side) ? `finished (${envelope.execution.fuel_consumed.toLocaleString('en-US')} fuel)` : 'ran out of fuel';
        const origCalls = [describe(await worker.call(low.js.file, [n]), 'original'), describe(await worker.call(low.js.file, [n]), 'original')];
        const oursCalls = [describe(await capsule.exec(low.js.file, n), 'ours'), describe(await capsule.exec(low.js.file, n), 'ours')];
        notes.push(
          `Limits in worker mode: two calls of the LOW JavaScript file with n = ${Number(n).toLocaleString('en-US')} (past LOW on both sides). ` +
            `The original's worker: ${origCalls.join(', then ')}; ours (host API): ${oursCalls.join(', then ')}. ` +
            `(Row 3's worker calls after the first ran without limits too; for a trivial task that changes nothing.)`,
        );
      } finally {
        await worker.close();
      }
    }
    await capsule.close();
    capsule = undefined;

    // 6. First run of a task file never run before (a fresh copy with a unique comment, so no cache has it); once per side.
    for (const language of LANGUAGES) {
      log(`row 6: first run, ${LANGUAGE_NAME[language]}`);
      const stamp = `first run ${new Date().toISOString()} ${process.pid}`;
      const oursFresh = write(`first-ours-${language}`, language, taskSource(language, 'LOW', stamp));
      const ourSample = await oursExec(oursFresh);
      expectSuccess(ourSample.envelope, 'ours: first run');
      if (!can(language)) {
        rows.push(`| first run of a new ${LANGUAGE_NAME[language]} task file (once) | ${s(ourSample.sample.ms)} | — | — | ${missing(language)} |`);
        continue;
      }
      const origFresh = write(`first-original-${language}`, language, taskSource(language, 'LOW', stamp));
      const origSample = await origExec(origFresh);
      expectSuccess(origSample.envelope, 'original: first run');
      rows.push(
        `| first run of a new ${LANGUAGE_NAME[language]} task file (once per side) | ${s(ourSample.sample.ms)} | ${s(origSample.sample.ms)} | ${ratio(ourSample.sample.ms, origSample.sample.ms)} | ours builds no per-task artifact; the original builds a .wasm and a .cwasm for each file |`,
      );
    }

    out(`Ours: the installed package's compiled CLI (\`node bin/capsule.js\`, dist/) and host API; the original: ${ORIGINAL_CLI_PACKAGE} (native wasmtime). Same task files, interleaved; medians unless marked.`);
    out('');
    out('| measure | ours | original | ours / original | baseline, notes |');
    out('|---|---|---|---|---|');
    for (const row of rows) out(row);
    out('');
    for (const note of notes) out(`- ${note}`);
    out(`- Load average at the end: ${os.loadavg().map((load) => load.toFixed(2)).join(', ')}.`);
    return lines;
  } finally {
    const pid = serverPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await capsule?.close();
    installed?.close();
    original?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function wholeRow(measure: string, ours: number[], original: number[], missing: string, note = ''): string {
  if (original.length === 0) return `| ${measure} | ${s(median(ours))} | — | — | ${[missing, note].filter(Boolean).join('; ')} |`;
  return `| ${measure} | ${s(median(ours))} | ${s(median(original))} | ${ratio(median(ours), median(original))} | ${note} |`;
}

function parseEnvelope(sample: ProcessSample, what: string): OriginalEnvelope {
  try {
    return JSON.parse(sample.stdout.trim()) as OriginalEnvelope;
  } catch {
    throw new Error(`${what}: exit ${sample.code}, no envelope on stdout: ${sample.stdout.slice(0, 300)} ${sample.stderr.slice(0, 600)}`);
  }
}

function expectSuccess(envelope: Pick<OriginalEnvelope, 'success' | 'error'>, what: string): void {
  if (!envelope.success) throw new Error(`${what} failed: ${JSON.stringify(envelope.error).slice(0, 600)}`);
}

function expectTotal(envelope: Pick<OriginalEnvelope, 'success' | 'error' | 'result'>, total: number, what: string): void {
  expectSuccess(envelope, what);
  const got = (envelope.result as { total?: number } | null)?.total;
  if (got !== total) throw new Error(`${what}: computed ${String(got)}, expected ${total}`);
}

/** True when the run finished, false when it ran out of fuel; anything else is a broken benchmark. */
function fuelOutcome(envelope: Pick<OriginalEnvelope, 'success' | 'error' | 'execution'>, side: 'ours' | 'original'): boolean {
  if (envelope.success) return true;
  // Ours names the error; the original reports a wasm trap and the fuel it consumed, which is then all of LOW's.
  const exhausted = side === 'ours' ? envelope.error?.error_type === 'fuel_exhausted' : envelope.execution.fuel_consumed >= LOW_FUEL;
  if (!exhausted) throw new Error(`${side}: a LOW run failed for another reason than fuel: ${JSON.stringify(envelope.error).slice(0, 600)}`);
  return false;
}

/** Where LOW's fuel should run out, from the fuel two unconstrained runs of the same loop consume (fuel = a + b·n). */
async function guessFromFuel(fuelFor: (n: number) => Promise<number>): Promise<number> {
  const [n1, n2] = [1_000, 101_000];
  const [f1, f2] = [await fuelFor(n1), await fuelFor(n2)];
  const perIteration = (f2 - f1) / (n2 - n1);
  if (!(perIteration > 0)) throw new Error(`fuel did not grow with n (${f1} at ${n1}, ${f2} at ${n2})`);
  return Math.max(1, Math.round(n1 + (LOW_FUEL - f1) / perIteration));
}

/** The largest n for which `passes(n)` holds (it holds below some bound and not above), to `precision` relative. */
async function largestPassing(passes: (n: number) => Promise<boolean>, guess: number, precision = 0.005): Promise<number> {
  let lo = Math.max(1, Math.floor(guess * 0.97));
  let hi = Math.ceil(guess * 1.03);
  while (!(await passes(lo))) {
    hi = lo;
    lo = Math.floor(lo / 2);
    if (lo < 1) throw new Error('not even one iteration fits in LOW');
  }
  while (await passes(hi)) {
    lo = hi;
    hi *= 2;
  }
  while ((hi - lo) / lo > precision) {
    const mid = Math.floor((lo + hi) / 2);
    if (await passes(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchVersus();
  process.exit(0);
}

/** The pid of the exec server listening in `runtimeDir` (its log's first line names it). */
function execServerPid(runtimeDir: string): number | undefined {
  const dir = path.join(runtimeDir, 'capsule');
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.log'))) {
    const pid = /\(pid (\d+)\)/.exec(readFileSync(path.join(dir, name), 'utf8'))?.[1];
    if (pid !== undefined) return Number(pid);
  }
  return undefined;
}

/** Resident memory of a running process, in KiB (0 when it is gone). */
function serverRssKiB(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return 0;
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}
