/**
 * The runner runtimes, one per task language: each built once per runtime version (content hash of its guest
 * code, the WIT and the toolchain versions), cached under the Capsule cache directory, then loaded as compiled
 * `WebAssembly.Module`s that every worker thread shares. A task run never builds anything.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fork } from 'node:child_process';
import v8 from 'node:v8';
import { capsuleCacheDir } from '../../config/paths.js';
import { SOURCE_DIR } from '../../package-paths.js';
import { PromiseCache } from '../../promise-cache.js';
import { packageVersion, threadScript } from './host-script.js';
import { GLUE_FILE, LANGUAGE_NAMES, type BuildJob, type BuildMessage, type Language, type RuntimeManifest } from './manifest.js';
import { COMPONENTIZE_PY_VERSION, componentizePy } from './python-toolchain.js';

// The runtime's inputs are sources whether Capsule runs from them or from dist/ (package-paths.ts): one hash, one build.
const here = path.join(SOURCE_DIR, 'sandbox', 'runtime');
const JS_GUEST_DIR = path.join(SOURCE_DIR, 'sandbox', 'guest');
const PYTHON_GUEST_DIR = path.join(SOURCE_DIR, 'sandbox', 'guest-python');
const PYTHON_SDK_DIR = path.join(SOURCE_DIR, 'sdk', 'python');
const WIT_DIR = path.join(SOURCE_DIR, 'sandbox', 'wit');
/** Bump when the build or instrumentation changes in a way the hashed inputs don't show. */
const RUNTIME_FORMAT = 2;
// jco is pinned to 1.15.4 in package.json: from 1.17 on, its generated glue carries the component-model async
// machinery, and one instantiation runs ~30 ms of interpreted JS instead of ~4 ms (measured: docs/benchmarks.md).
const TOOLCHAIN = ['@bytecodealliance/componentize-js', '@bytecodealliance/jco', '@bytecodealliance/preview2-shim', 'binaryen'];

export interface Runtime {
  language: Language;
  dir: string;
  manifest: RuntimeManifest;
  /** file: URL of the jco glue (exports `instantiate`). */
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
}

export type ProgressReporter = (line: string) => void;

/** Versions of the build toolchain, read from node_modules (walking up, as Node resolves packages). */
function toolchainVersions(): string {
  return TOOLCHAIN.map(packageVersion).join(',');
}

async function bundleJsGuest(): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(JS_GUEST_DIR, 'runner.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    external: ['capsule:sandbox/host@0.1.0'],
    // esbuild writes source paths into comments relative to its working directory: pin it, or the runtime's
    // content hash (and so a rebuild) would depend on where the command was started.
    absWorkingDir: JS_GUEST_DIR,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** Every file under `dir` whose name passes `keep`, as sorted relative paths (the hash must not depend on order). */
function filesUnder(dir: string, keep: (name: string) => boolean, prefix = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory() && entry.name !== '__pycache__') found.push(...filesUnder(dir, keep, relative));
    else if (entry.isFile() && keep(entry.name)) found.push(relative);
  }
  return found.sort();
}

function hashDir(hash: ReturnType<typeof createHash>, dir: string, keep: (name: string) => boolean): void {
  for (const file of filesUnder(dir, keep)) hash.update(`${file}\n`).update(readFileSync(path.join(dir, file)));
}

interface Location {
  hash: string;
  dir: string;
}

/**
 * Where this runtime version lives, with the inputs its hash covers. The JavaScript guest is hashed as its sources
 * (its directory is self-contained) and esbuild's version, not as its bundle: loading a built runtime then needs no
 * esbuild at all.
 */
function runtimeLocation(language: Language): Location {
  const hash = createHash('sha256');
  hash.update(`format ${RUNTIME_FORMAT}\nlanguage ${language}\n${toolchainVersions()}\n`);
  hashDir(hash, WIT_DIR, (name) => name.endsWith('.wit'));
  for (const file of ['instrument.ts', 'glue-exports.ts', 'build-process.ts']) hash.update(readFileSync(path.join(here, file)));
  if (language === 'js') {
    hash.update(`${packageVersion('esbuild')}\n`);
    hashDir(hash, JS_GUEST_DIR, (name) => name.endsWith('.ts') || name.endsWith('.json'));
  } else {
    hash.update(`componentize-py ${COMPONENTIZE_PY_VERSION}\n`);
    hashDir(hash, PYTHON_GUEST_DIR, (name) => name.endsWith('.py'));
    hashDir(hash, PYTHON_SDK_DIR, (name) => name.endsWith('.py') || name === 'py.typed');
  }
  const digest = hash.digest('hex').slice(0, 24);
  return { hash: digest, dir: path.join(capsuleCacheDir(), 'runtime', `${language}-${digest}`) };
}

/**
 * CPython's modules (wasi-sdk 25+, position-independent) use extended constant expressions, which V8 enables by
 * default from 11.4 (Node 22); Node 20's V8 has them behind a flag. Flags are process-wide and only read when a
 * module is compiled, so turning it on here covers the sandbox threads too. Probed, so newer Nodes skip it.
 */
function enableExtendedConst(): void {
  // (module (global i32 (i32.add (i32.const 1) (i32.const 2))))
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 6, 8, 1, 127, 0, 65, 1, 65, 2, 106, 11]);
  if (!WebAssembly.validate(probe)) v8.setFlagsFromString('--experimental-wasm-extended-const');
}

/**
 * The guest's interpreter loop is one huge function (StarlingMonkey's: 74 KB of wasm), and V8 gives huge functions
 * TurboFan's fast mid-tier register allocator, which keeps values such as the fuel counter's pending charges on the
 * stack. The full allocator makes the warm interpreter ~30 % faster (the loop, sum 0..3e6: 192-263 ms vs
 * 289-386 ms metered, 167-239 ms vs 209-275 ms unmetered; docs/benchmarks.md) for no start-up cost: the function is
 * optimised in the background, after Liftoff has run it. Process-wide, read when TurboFan compiles, so set before.
 */
function tuneTurboFanForInterpreters(): void {
  v8.setFlagsFromString('--no-turbo-use-mid-tier-regalloc-for-huge-functions');
}

const loading = new PromiseCache<Language, Runtime>();

/** Loads a language's runtime, building it first if this version has never been built on this machine. */
export function loadRuntime(language: Language, report: ProgressReporter = defaultReporter): Promise<Runtime> {
  return loading.get(language, () => load(language, report));
}

function defaultReporter(line: string): void {
  process.stderr.write(`capsule: ${line}\n`);
}

async function load(language: Language, report: ProgressReporter): Promise<Runtime> {
  const location = runtimeLocation(language);
  if (!existsSync(path.join(location.dir, 'manifest.json'))) await build(language, location, report);
  const manifest = JSON.parse(readFileSync(path.join(location.dir, 'manifest.json'), 'utf8')) as RuntimeManifest;
  if (language === 'python') enableExtendedConst();
  tuneTurboFanForInterpreters();
  // V8's default tiers on purpose (issue 17, docs/benchmarks.md "Guest speed and V8's tiers"): functions start in
  // Liftoff and hot ones move to TurboFan in the background, so compiling the 11 MB module takes ~90 ms and a fresh
  // thread's first trivial run ~180 ms. V8 11.3 has no on-stack replacement for wasm, so one long call that enters
  // the interpreter loop (one 74 KB function) in Liftoff stays there: a fresh process's first CPU-bound run is ~3x
  // slower than warm ones (sum 0..3e6: ~1.0-1.1 s vs ~0.3 s). Every way to fix that costs each process's start
  // instead: --no-liftoff 1.8 s for the first trivial run; compilation hints putting the interpreter's dispatch
  // functions in TurboFan at compile time 0.6-1.2 s of compile; --no-wasm-dynamic-tiering and smaller tiering
  // budgets help nothing. Warm runs are the same under every setting.
  const modules: Record<string, WebAssembly.Module> = {};
  await Promise.all(
    manifest.coreModules.map(async (name) => {
      const bytes = readFileSync(path.join(location.dir, name));
      modules[name] = await WebAssembly.compile(bytes);
    }),
  );
  return { language, dir: location.dir, manifest, glueUrl: pathToFileURL(path.join(location.dir, GLUE_FILE)).href, modules };
}

async function build(language: Language, location: Location, report: ProgressReporter): Promise<void> {
  const started = Date.now();
  const { hash, dir: outDir } = location;
  report(`building the ${LANGUAGE_NAMES[language]} sandbox runtime ${hash} once for this version (cached in ${path.dirname(outDir)})`);
  mkdirSync(path.dirname(outDir), { recursive: true });
  const guestSourcePath = path.join(path.dirname(outDir), `guest-${hash}.${process.pid}.js`);
  if (language === 'js') writeFileSync(guestSourcePath, await bundleJsGuest());
  const script = await threadScript(path.join(here, 'build-process.ts'), 'build-process');
  const job: BuildJob = {
    language,
    hash,
    outDir,
    witDir: WIT_DIR,
    guestSourcePath,
    pythonPath: [PYTHON_GUEST_DIR, PYTHON_SDK_DIR],
    componentizePy: language === 'python' ? await componentizePy(report) : null,
    writeUnmetered: language === 'js',
  };
  // stdout stays ours (`capsule exec --json` prints only the envelope there): the build's output goes to stderr.
  const child = fork(script, [JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: BuildMessage) => {
        if (message.kind === 'progress') report(`  ${message.step}: ${message.detail} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        else if (message.kind === 'done') resolve();
        else reject(new Error(`building the ${LANGUAGE_NAMES[language]} sandbox runtime failed: ${message.message}\n${output.slice(-4000)}`));
      });
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the runtime build process exited (code ${code}) before finishing\n${output.slice(-4000)}`)));
    });
  } finally {
    child.kill();
    rmSync(guestSourcePath, { force: true });
  }
  report(`${LANGUAGE_NAMES[language]} sandbox runtime ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
