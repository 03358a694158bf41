/**
 * Builds the runner runtime in a child process (bundled by host-script.ts): componentize the guest, transpile it
 * with jco, instrument the main core module. A separate process because componentize-js needs a preview2-shim
 * preopen of "/" (a grant that must never exist where guests run) and spawns wizer with inherited stdio.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { componentize } from '@bytecodealliance/componentize-js';
import { transpile } from '@bytecodealliance/jco';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
import { instrumentCoreModule } from './instrument.js';
import type { BuildJob, BuildMessage, RuntimeManifest } from './manifest.js';
import { MAIN_CORE_MODULE, UNMETERED_CORE_MODULE } from './manifest.js';

const job = JSON.parse(process.argv[2]!) as BuildJob;
const post = (message: BuildMessage) => process.send!(message);

async function build(): Promise<void> {
  // The package's types describe the browser build; on Node this maps a guest path to a host directory.
  _setPreopens({ '/': '/' } as never);
  const staging = `${job.outDir}.${process.pid}.${Date.now()}.tmp`;
  mkdirSync(staging, { recursive: true });
  try {
    post({ kind: 'progress', step: 'componentize', detail: 'StarlingMonkey + the runner (takes 10-40 s)' });
    const { component } = await componentize({ sourcePath: job.guestSourcePath, witPath: job.witPath, worldName: 'runner' });

    post({ kind: 'progress', step: 'transpile', detail: 'jco' });
    const transpiled = await transpile(component, { name: 'runner', instantiation: 'async', noTypescript: true });
    // jco 1.15's types leave file contents untyped; they are the bytes (or text) of each generated file.
    const files = transpiled.files as Record<string, Uint8Array>;
    const coreModules: string[] = [];
    for (const [name, contents] of Object.entries(files)) {
      if (name.includes('/')) continue;
      if (name.endsWith('.wasm')) coreModules.push(name);
      if (name !== MAIN_CORE_MODULE) writeFileSync(path.join(staging, name === 'runner.js' ? 'runner.mjs' : name), contents);
    }

    post({ kind: 'progress', step: 'instrument', detail: 'fuel metering and memory cap (binaryen)' });
    const main = files[MAIN_CORE_MODULE];
    if (!main) throw new Error(`jco produced no ${MAIN_CORE_MODULE}`);
    const instrumented = instrumentCoreModule(main);
    writeFileSync(path.join(staging, MAIN_CORE_MODULE), instrumented.bytes);
    writeFileSync(path.join(staging, UNMETERED_CORE_MODULE), instrumentCoreModule(main, { meterFuel: false }).bytes);

    const manifest: RuntimeManifest = {
      hash: job.hash,
      coreModules: coreModules.sort(),
      initialMemoryPages: instrumented.initialPages,
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
