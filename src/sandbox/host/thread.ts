/**
 * Code inside a sandbox thread (bundled by runtime/host-script.ts). Each job gets a fresh component instance,
 * its own memory (capped at the task's ram) and its own imports; the thread itself holds no guest state between
 * jobs. Guests run here rather than on the pool's thread because a running guest blocks its thread entirely.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { GuestFailure } from '../guest/protocol.js';
import { FilePolicy } from '../policy/file-policy.js';
import { NetworkPolicy } from '../policy/network-policy.js';
import { FUEL_GLOBAL, MAIN_CORE_MODULE, MEMORY_IMPORT } from '../runtime/manifest.js';
import { VirtualClock } from './clock.js';
import { buildImports, type RunSink } from './imports.js';
import type { FromThread, GuestEvent, GuestJob, JobDone, ThreadInit, ToThread } from './protocol.js';

const PAGE = 65_536;
/** A guest looping over refused requests must not grow the host's memory without bound: lists stop here. */
const MAX_LISTED = 1000;
const init = workerData as ThreadInit;
const port = parentPort!;
const send = (message: FromThread) => port.postMessage(message);

type Glue = {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: unknown,
    instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): Promise<{ run(source: string, request: string): string }>;
};
const glue = (await import(init.glueUrl)) as Glue;

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

async function runJob(job: GuestJob): Promise<JobDone> {
  const emit = (event: GuestEvent) => send({ kind: 'event', id: job.id, event });
  const maximumPages = Math.floor(job.ramBytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: init.initialMemoryPages, maximum: maximumPages });
  let core: WebAssembly.Instance | undefined;
  const fuelGlobal = () => core?.exports[FUEL_GLOBAL] as WebAssembly.Global | undefined;
  const fuelConsumed = () => {
    const left = fuelGlobal()?.value as bigint | undefined;
    if (left === undefined) return 0;
    return Number(BigInt(job.fuel) - (left < 0n ? 0n : left));
  };
  const meter = () => emit({ kind: 'meter', fuelConsumed: fuelConsumed(), ramUsed: memory.buffer.byteLength });
  const output = new OutputMeter(job.outputCapBytes, emit);
  const listed = { request: 0, denial: 0 };
  const sink: RunSink = {
    output: (stream, bytes) => { output.write(stream, bytes); meter(); },
    request: (request) => { if (listed.request++ < MAX_LISTED) emit({ kind: 'request', request }); meter(); },
    denial: (denial) => { if (listed.denial++ < MAX_LISTED) emit({ kind: 'denial', denial }); },
  };
  const imports = buildImports(
    { files: new FilePolicy(job.files), network: new NetworkPolicy(job.hosts), subtasks: job.subtasks },
    sink,
    new VirtualClock(),
    meter,
  );
  const instance = await glue.instantiate(
    (name) => init.modules[name]!,
    imports,
    (module, moduleImports) => {
      if (module !== init.modules[MAIN_CORE_MODULE]) return new WebAssembly.Instance(module, moduleImports);
      core = new WebAssembly.Instance(module, { ...moduleImports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
      return core;
    },
  );
  const global = fuelGlobal();
  if (!global) throw new Error('the runner instance exports no fuel counter');
  global.value = BigInt(job.fuel);

  let outcome: JobDone['outcome'];
  try {
    outcome = { status: 'returned', resultJson: instance.run(job.source, JSON.stringify(job.request)) };
  } catch (error) {
    outcome = toOutcome(error);
  }
  const left = global.value as bigint;
  return {
    outcome,
    fuelConsumed: fuelConsumed(),
    fuelExhausted: left < 0n,
    ramUsed: memory.buffer.byteLength,
    memoryAtCap: memory.buffer.byteLength + 4 * 1024 * 1024 > maximumPages * PAGE,
  };
}

/** The glue throws a ComponentError carrying the guest's thrown string for `err`; anything else is a trap. */
function toOutcome(error: unknown): JobDone['outcome'] {
  const payload = (error as { payload?: unknown }).payload;
  if (typeof payload === 'string') {
    try {
      return { status: 'failed', failure: JSON.parse(payload) as GuestFailure };
    } catch {
      return { status: 'failed', failure: { kind: 'task_error', message: payload } };
    }
  }
  return { status: 'trapped', message: error instanceof Error ? error.message : String(error) };
}

port.on('message', (message: ToThread) => {
  const { job } = message;
  runJob(job).then(
    (done) => send({ kind: 'done', id: job.id, done }),
    (error: unknown) => send({ kind: 'crashed', id: job.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
send({ kind: 'ready' });
