/**
 * The runner runtime: built once per runtime version (content hash of the guest code, the WIT and the toolchain
 * versions), cached under the Capsule cache directory, then loaded as compiled `WebAssembly.Module`s that every
 * worker thread shares. A task run never builds anything.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fork } from 'node:child_process';
import * as esbuild from 'esbuild';
import { capsuleCacheDir } from '../../config/paths.js';
import { bundleForThread, writeContentAddressed } from './host-script.js';
import { GLUE_FILE, MAIN_CORE_MODULE, type BuildJob, type BuildMessage, type RuntimeManifest } from './manifest.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GUEST_DIR = path.resolve(here, '../guest');
const WIT_PATH = path.join(GUEST_DIR, 'runner.wit');
/** Bump when the build or instrumentation changes in a way the hashed inputs don't show. */
const RUNTIME_FORMAT = 1;
// jco is pinned to 1.15.4 in package.json: from 1.17 on, its generated glue carries the component-model async
// machinery, and one instantiation runs ~30 ms of interpreted JS instead of ~4 ms (measured: docs/benchmarks.md).
const TOOLCHAIN = ['@bytecodealliance/componentize-js', '@bytecodealliance/jco', '@bytecodealliance/preview2-shim', 'binaryen'];

export interface Runtime {
  dir: string;
  manifest: RuntimeManifest;
  /** file: URL of the jco glue (exports `instantiate`). */
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
}

export type ProgressReporter = (line: string) => void;

/** Versions of the build toolchain, read from node_modules (walking up, as Node resolves packages). */
function toolchainVersions(): string {
  return TOOLCHAIN.map((name) => {
    for (let dir = here; ; dir = path.dirname(dir)) {
      const manifest = path.join(dir, 'node_modules', name, 'package.json');
      if (existsSync(manifest)) return `${name}@${(JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version}`;
      if (path.dirname(dir) === dir) throw new Error(`cannot find the package ${name} in node_modules`);
    }
  }).join(',');
}

async function bundleGuest(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [path.join(GUEST_DIR, 'runner.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    external: ['capsule:sandbox/host@0.1.0'],
    // esbuild writes source paths into comments relative to its working directory: pin it, or the runtime's
    // content hash (and so a rebuild) would depend on where the command was started.
    absWorkingDir: GUEST_DIR,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function hashInputs(guest: string): string {
  const hash = createHash('sha256');
  hash.update(`format ${RUNTIME_FORMAT}\n${toolchainVersions()}\n`);
  hash.update(readFileSync(WIT_PATH));
  hash.update(guest);
  for (const file of ['instrument.ts', 'build-process.ts']) hash.update(readFileSync(path.join(here, file)));
  return hash.digest('hex').slice(0, 24);
}

let loading: Promise<Runtime> | undefined;

/** Loads the runtime, building it first if this version has never been built on this machine. */
export function loadRuntime(report: ProgressReporter = defaultReporter): Promise<Runtime> {
  loading ??= load(report).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

function defaultReporter(line: string): void {
  process.stderr.write(`capsule: ${line}\n`);
}

/** Where this runtime version lives, with the guest code its hash covers. */
async function runtimeLocation(): Promise<{ hash: string; dir: string; guest: string }> {
  const guest = await bundleGuest();
  const hash = hashInputs(guest);
  return { hash, dir: path.join(capsuleCacheDir(), 'runtime', hash), guest };
}

async function load(report: ProgressReporter): Promise<Runtime> {
  const { hash, dir, guest } = await runtimeLocation();
  if (!existsSync(path.join(dir, 'manifest.json'))) await build(hash, dir, guest, report);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RuntimeManifest;
  const modules: Record<string, WebAssembly.Module> = {};
  await Promise.all(
    manifest.coreModules.map(async (name) => {
      modules[name] = await WebAssembly.compile(readFileSync(path.join(dir, name)));
    }),
  );
  if (!modules[MAIN_CORE_MODULE]) throw new Error(`runtime ${dir} has no ${MAIN_CORE_MODULE}`);
  return { dir, manifest, glueUrl: pathToFileURL(path.join(dir, GLUE_FILE)).href, modules };
}

async function build(hash: string, outDir: string, guest: string, report: ProgressReporter): Promise<void> {
  const started = Date.now();
  report(`building the sandbox runtime ${hash} once for this version (cached in ${path.dirname(outDir)})`);
  mkdirSync(path.dirname(outDir), { recursive: true });
  const guestSourcePath = path.join(path.dirname(outDir), `guest-${hash}.${process.pid}.js`);
  writeFileSync(guestSourcePath, guest);
  const script = writeContentAddressed(path.join(capsuleCacheDir(), 'scripts'), 'build-process', await bundleForThread(path.join(here, 'build-process.ts')));
  const job: BuildJob = { hash, outDir, guestSourcePath, witPath: WIT_PATH };
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
        else reject(new Error(`building the sandbox runtime failed: ${message.message}\n${output.slice(-4000)}`));
      });
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the runtime build process exited (code ${code}) before finishing\n${output.slice(-4000)}`)));
    });
  } finally {
    child.kill();
    rmSync(guestSourcePath, { force: true });
  }
  report(`sandbox runtime ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
