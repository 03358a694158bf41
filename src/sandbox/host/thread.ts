/**
 * Code inside a sandbox thread (bundled by runtime/host-script.ts). Each job gets a fresh component instance,
 * its own memory (capped at the task's ram) and its own imports; the thread itself holds no guest state between
 * jobs. Guests run here rather than on the pool's thread because a running guest blocks its thread entirely.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FilePolicy } from '../policy/file-policy.js';
import { FUEL_IMPORT, MEMORY_IMPORT, WASM_PAGE_BYTES, type Language } from '../runtime/manifest.js';
import { FdLedger } from './fd-ledger.js';
import { FsBridge } from './fs-bridge.js';
import { GrantedFs } from './granted-fs.js';
import { QuotaLedger } from './quota-ledger.js';
import { buildImports, inertScope, runScope, type RunScope, type RunSink } from './imports.js';
import { MemoryRecycler, type MemoryLayout } from './memory-recycler.js';
import { endRun } from '../io/client.js';
import type { FromThread, GuestEvent, GuestJob, JobDone, RuntimeInit, ThreadInit, ToThread } from './protocol.js';
import type { PythonRunner } from '../wit/types/python-runner.js';
import type { Runner } from '../wit/types/runner.js';
import { MAX_FAILURE_CHARS, MAX_RESULT_CHARS, shorten, shortenListed } from './wire-limits.js';

const UNLIMITED_FUEL = (1n << 63n) - 1n;
/** A guest looping over refused requests must not grow the host's memory without bound: lists stop here. */
const MAX_LISTED = 1000;
/** The runner's replies are UTF-8 bytes (runner.wit says why); malformed sequences become U+FFFD, never a throw. */
const utf8 = new TextDecoder();

/**
 * Host calls cost fuel like the guest code they stand in for: a fixed part (what a call costs the host in time, at
 * the rate ordinary guest code burns fuel, about 9e9 wasm instructions per second: about 20 µs for a file call, 2 µs
 * for an output write) and one unit per byte moved. Otherwise a fuel-bounded task could loop over host calls until
 * its wall-clock timeout.
 */
export const HOST_CALL_FUEL = { file: 200_000, output: 20_000, bytesPerUnit: 1 } as const;
const init = workerData as ThreadInit;
const ledger = new FdLedger();
const port = parentPort!;
const send = (message: FromThread) => port.postMessage(message);

/** Both runners' export, as jco generates its type from the WIT: a change to runner.wit this file misses fails to compile. */
type RunnerExport = Pick<Runner & PythonRunner, 'run'>;

type Glue = {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: unknown,
    instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): Promise<RunnerExport>;
};

interface LoadedRuntime {
  init: RuntimeInit;
  glue: Glue;
  /** This runtime's memory for the recycler: one object, so a memory cleaned for it goes to no other runtime. */
  layout: MemoryLayout;
}

const runtimes = new Map<Language, Promise<LoadedRuntime>>();

function loadRuntime(language: Language, runtime: RuntimeInit): void {
  const layout: MemoryLayout = { initialPages: runtime.initialMemoryPages, dataRanges: runtime.dataRanges };
  runtimes.set(language, import(runtime.glueUrl).then((glue: Glue) => ({ init: runtime, glue, layout })));
}

for (const [language, runtime] of Object.entries(init.runtimes) as [Language, RuntimeInit][]) loadRuntime(language, runtime);

class OutputMeter {
  private readonly used = { stdout: 0, stderr: 0 };
  private readonly truncated = { stdout: false, stderr: false };
  private readonly decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  constructor(private readonly cap: number, private readonly emit: (event: GuestEvent) => void) {}

  write(stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    if (this.truncated[stream]) return;
    const room = this.cap - this.used[stream];
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.used[stream] += kept.length;
    const text = this.decoder[stream].decode(kept, { stream: kept.length === bytes.length });
    if (text) this.emit({ kind: 'output', stream, text });
    if (kept.length < bytes.length) {
      this.truncated[stream] = true;
      this.emit({ kind: 'truncated', stream });
    }
  }
}

interface Prepared {
  language: Language;
  ramBytes: number;
  memory: WebAssembly.Memory;
  layout: MemoryLayout;
  maximumPages: number;
  scope: RunScope;
  fuel: WebAssembly.Global;
  instance: RunnerExport;
}

/**
 * A fresh instance whose imports still point at an inert scope: no grants, output dropped. Creating it is most of
 * a run's fixed cost, so the thread makes the next one while it would otherwise wait for a job.
 */
async function prepare(language: Language, ramBytes: number): Promise<Prepared> {
  const runtime = await runtimes.get(language);
  if (!runtime) throw new Error(`the ${language} runtime was never loaded into this thread`);
  const { layout } = runtime;
  const maximumPages = Math.floor(ramBytes / WASM_PAGE_BYTES);
  // A new memory, or the last run's cleaned for this runtime (memory-recycler.ts): the same bytes once instantiated.
  const memory = recycler.take(layout, maximumPages);
  // One counter for the whole component: every metered core module imports it. Unlimited while instantiating
  // (start functions are the runtime's cost, not the task's); the run sets its budget when it binds the instance.
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, UNLIMITED_FUEL);
  // Both limits come from the one `capsule` import module (manifest.ts); only the memory module imports the memory.
  const limits = { [FUEL_IMPORT.name]: fuel, [MEMORY_IMPORT.name]: memory };
  const scope = inertScope();
  const instance = await runtime.glue.instantiate(
    (name) => runtime.init.modules[name]!,
    buildImports(scope),
    // Import objects may name modules a core module doesn't import: only the ones it declares are read.
    (module, moduleImports) => new WebAssembly.Instance(module, { ...moduleImports, [FUEL_IMPORT.module]: limits }),
  );
  return { language, ramBytes, memory, layout, maximumPages, scope, fuel, instance };
}

const recycler = new MemoryRecycler();
let spare: Promise<Prepared> | undefined = prepare(init.spare.language, init.spare.ramBytes);

/** The spare if it was made for this language and memory cap (and never used: it is dropped here either way), else a new one. */
async function freshInstance(language: Language, ramBytes: number): Promise<Prepared> {
  const candidate = spare;
  spare = undefined;
  const ready = await candidate?.catch(() => undefined);
  return ready?.language === language && ready.ramBytes === ramBytes ? ready : prepare(language, ramBytes);
}

/** The run's reply, and its memory for the recycler once the reply is sent. */
async function runJob(job: GuestJob): Promise<{ done: JobDone; used: Prepared }> {
  const emit = (event: GuestEvent) => send({ kind: 'event', id: job.id, event });
  const used = await freshInstance(job.language, job.ramBytes);
  const { memory, scope, fuel, instance } = used;
  const fuelConsumed = () => {
    const left = fuel.value as bigint;
    return Math.min(job.fuel, Number(BigInt(job.fuel) - (left < 0n ? 0n : left)));
  };
  const meter = () => emit({ kind: 'meter', fuelConsumed: fuelConsumed(), ramUsed: memory.buffer.byteLength });
  const charge = (base: number, bytes: number) => {
    fuel.value = (fuel.value as bigint) - BigInt(base + Math.floor(bytes / HOST_CALL_FUEL.bytesPerUnit));
  };
  const output = new OutputMeter(job.outputCapBytes, emit);
  let denials = 0;
  const sink: RunSink = {
    output: (stream, bytes) => { charge(HOST_CALL_FUEL.output, bytes.length); output.write(stream, bytes); meter(); },
    denial: (denial) => { if (denials++ < MAX_LISTED) emit(shortenListed({ kind: 'denial', denial })); },
  };
  const files = GrantedFs.open(job.files, ledger, job.ramBytes, job.quotas.map((quota) => new QuotaLedger(quota)));
  const onHostCall = (bytes: number) => { charge(HOST_CALL_FUEL.file, bytes); meter(); };
  // Bind the instance to this run: from here on its imports see this job's grants, sink and clock.
  const bridge = new FsBridge(new FilePolicy(job.files), files, (denial) => sink.denial(denial));
  Object.assign(scope, runScope({ files: bridge, egress: job.egress, subtasks: job.subtasks, context: job.context }, sink, onHostCall));
  fuel.value = BigInt(job.fuel);

  let outcome: JobDone['outcome'];
  try {
    outcome = returned(instance.run(job.source, JSON.stringify(job.request)));
  } catch (error) {
    outcome = toOutcome(error);
  } finally {
    files.close();
    endRun();
  }
  const done: JobDone = {
    outcome,
    fuelConsumed: fuelConsumed(),
    fuelExhausted: (fuel.value as bigint) < 0n,
    ramUsed: memory.buffer.byteLength,
    memoryAtCap: memory.buffer.byteLength + 4 * 1024 * 1024 > job.ramBytes,
  };
  return { done, used };
}

function errorText(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an error that cannot be printed';
  }
}

/** The runner's reply as it came (read on the pool's side), unless it is too large to send. */
function returned(reply: unknown): JobDone['outcome'] {
  if (!(reply instanceof Uint8Array)) return { status: 'trapped', message: 'the runner returned something other than bytes' };
  const resultJson = utf8.decode(reply);
  if (resultJson.length <= MAX_RESULT_CHARS) return { status: 'returned', resultJson };
  const message = `the task's result is ${resultJson.length} characters of JSON, more than the ${MAX_RESULT_CHARS} a run may return: write large outputs to an allowed directory and return a reference`;
  return { status: 'failed', payload: JSON.stringify({ kind: 'task_error', message }) };
}

/** The glue throws a ComponentError carrying the guest's thrown bytes for `err`; anything else is a trap. */
function toOutcome(error: unknown): JobDone['outcome'] {
  const thrown = (error as { payload?: unknown } | null)?.payload;
  if (thrown instanceof Uint8Array) {
    const payload = utf8.decode(thrown);
    if (payload.length <= MAX_FAILURE_CHARS) return { status: 'failed', payload };
    const message = `the task failed with an error of ${payload.length} characters, too large to report`;
    return { status: 'failed', payload: JSON.stringify({ kind: 'task_error', message }) };
  }
  return { status: 'trapped', message: shorten(errorText(error), MAX_FAILURE_CHARS) };
}

port.on('message', (message: ToThread) => {
  if (message.kind === 'load') return loadRuntime(message.language, message.runtime);
  const { job } = message;
  runJob(job).then(
    ({ done, used }) => {
      send({ kind: 'done', id: job.id, done });
      // The next run most likely has the same memory cap (the same task again, or the default). Reading a file's
      // options (describe) runs under a cap of its own, and is followed by a run of one of its tasks: the default.
      const ramBytes = job.request.mode === 'describe' ? init.spare.ramBytes : job.ramBytes;
      setImmediate(() => {
        // The run is over and nothing calls into its instance again (the guest's event loop ends inside `run`).
        recycler.give(used.memory, used.layout, used.maximumPages);
        spare ??= prepare(job.language, ramBytes);
      });
    },
    // The stack stays here: it names host files, and the message goes into an envelope.
    (error: unknown) => send({ kind: 'crashed', id: job.id, message: shorten(errorText(error), MAX_FAILURE_CHARS) }),
  );
});
await spare;
send({ kind: 'ready' });
