/**
 * Builds one runner runtime in a child process (bundled by host-script.ts): make the component (componentize-js
 * for JavaScript, componentize-py for Python), transpile it with jco, instrument its core modules. A separate
 * process because componentize-js needs a preview2-shim preopen of "/" (a grant that must never exist where
 * guests run) and both toolchains spawn programs with inherited stdio.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { componentize } from '@bytecodealliance/componentize-js';
import { transpile } from '@bytecodealliance/jco';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
import { activeDataRanges, type ByteRanges } from './data-ranges.js';
import { exportsReadByGlue } from './glue-exports.js';
import { instrumentCoreModule, moduleShape } from './instrument.js';
import { GLUE_FILE, unmeteredName, type BuildJob, type BuildMessage, type RuntimeManifest } from './manifest.js';

const job = JSON.parse(process.argv[2]!) as BuildJob;
const post = (message: BuildMessage) => process.send!(message);

async function componentizeJs(): Promise<Uint8Array> {
  post({ kind: 'progress', step: 'componentize', detail: 'StarlingMonkey + the runner (takes 10-40 s)' });
  // The package's types describe the browser build; on Node this maps a guest path to a host directory.
  _setPreopens({ '/': '/' } as never);
  const { component } = await componentize({ sourcePath: job.guestSourcePath, witPath: job.witDir, worldName: 'runner' });
  return component;
}

async function componentizePython(staging: string): Promise<Uint8Array> {
  post({ kind: 'progress', step: 'componentize', detail: 'CPython + the runner and the capsule SDK, via componentize-py (takes 10-30 s)' });
  const output = path.join(staging, 'runner.component.wasm');
  const args = ['-d', job.witDir, '-w', 'python-runner', 'componentize', ...job.pythonPath.flatMap((p) => ['-p', p]), 'capsule_runner', '-o', output];
  // No VIRTUAL_ENV or site-packages: the runner must see only the modules Capsule ships, never the build host's.
  // It writes bytecode next to the sources whatever PYTHONDONTWRITEBYTECODE says; .gitignore and the runtime hash skip it.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PYTHONNOUSERSITE: '1' };
  try {
    const { command, args: prefix } = job.componentizePy!;
    await promisify(execFile)(command, [...prefix, '--quiet', ...args], { env, maxBuffer: 16 * 1024 * 1024, cwd: staging });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`componentize-py failed:\n${(stderr || stdout || String(error)).slice(-4000)}`);
  }
  const component = readFileSync(output);
  rmSync(output);
  return component;
}

async function build(): Promise<void> {
  const staging = `${job.outDir}.${process.pid}.${Date.now()}.tmp`;
  mkdirSync(staging, { recursive: true });
  try {
    const component = job.language === 'js' ? await componentizeJs() : await componentizePython(staging);

    post({ kind: 'progress', step: 'transpile', detail: 'jco' });
    const transpiled = await transpile(component, { name: 'runner', instantiation: 'async', noTypescript: true });
    // jco 1.15's types leave file contents untyped; they are the bytes (or text) of each generated file.
    const files = transpiled.files as Record<string, Uint8Array>;
    const coreModules = Object.keys(files).filter((name) => !name.includes('/') && name.endsWith('.wasm')).sort();
    const glue = files['runner.js']!;
    writeFileSync(path.join(staging, GLUE_FILE), glue);
    // Exports nothing reads cost every instantiation a JavaScript object each (glue-exports.ts): only the read ones stay.
    const readExports = exportsReadByGlue(typeof glue === 'string' ? glue : new TextDecoder().decode(glue), coreModules);

    post({ kind: 'progress', step: 'instrument', detail: `fuel metering in ${coreModules.length} core modules and the memory cap (binaryen)` });
    const shapes = new Map(coreModules.map((name) => [name, moduleShape(files[name]!)]));
    // The guest's heap: the largest memory a module defines itself (adapters and shims import it or keep a tiny one).
    const memoryModule = [...shapes].filter(([, s]) => s.ownMemoryPages !== null).sort(([, a], [, b]) => b.ownMemoryPages! - a.ownMemoryPages!)[0]?.[0];
    if (!memoryModule) throw new Error('no core module of the component defines a memory');
    const meteredModules: string[] = [];
    let initialMemoryPages = 0;
    let dataRanges: ByteRanges = [];
    for (const name of coreModules) {
      const shape = shapes.get(name)!;
      const importMemory = name === memoryModule;
      if (shape.functions === 0 && !importMemory) {
        writeFileSync(path.join(staging, name), files[name]!);
        continue;
      }
      const keepExports = readExports.get(name) ?? null;
      const instrumented = instrumentCoreModule(files[name]!, { importMemory, keepExports });
      writeFileSync(path.join(staging, name), instrumented.bytes);
      if (importMemory) {
        initialMemoryPages = instrumented.initialPages!;
        dataRanges = activeDataRanges(instrumented.bytes);
      }
      meteredModules.push(name);
      if (job.writeUnmetered) writeFileSync(path.join(staging, unmeteredName(name)), instrumentCoreModule(files[name]!, { importMemory, keepExports, meterFuel: false }).bytes);
    }

    const manifest: RuntimeManifest = {
      language: job.language,
      hash: job.hash,
      coreModules,
      meteredModules,
      memoryModule,
      initialMemoryPages,
      dataRanges,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
    try {
      renameSync(staging, job.outDir);
    } catch {
      // Another process finished the same build first; its output is identical.
      rmSync(staging, { recursive: true, force: true });
    }
    post({ kind: 'done' });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    post({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
}

// The shim's IO worker keeps this process alive; exit once the parent has the last message.
void build().then(() => process.disconnect());
