// world capsule:sandbox/python-runner@0.1.0
import type * as CapsuleSandboxHost from './interfaces/capsule-sandbox-host.js'; // capsule:sandbox/host@0.1.0
import type * as WasiClocksMonotonicClock from './interfaces/wasi-clocks-monotonic-clock.js'; // wasi:clocks/monotonic-clock@0.2.3
import type * as WasiHttpOutgoingHandler from './interfaces/wasi-http-outgoing-handler.js'; // wasi:http/outgoing-handler@0.2.3
import type * as WasiHttpTypes from './interfaces/wasi-http-types.js'; // wasi:http/types@0.2.3
import type * as WasiIoError from './interfaces/wasi-io-error.js'; // wasi:io/error@0.2.3
import type * as WasiIoPoll from './interfaces/wasi-io-poll.js'; // wasi:io/poll@0.2.3
import type * as WasiIoStreams from './interfaces/wasi-io-streams.js'; // wasi:io/streams@0.2.3
export interface ImportObject {
  'capsule:sandbox/host@0.1.0': typeof CapsuleSandboxHost,
  'wasi:clocks/monotonic-clock@0.2.3': typeof WasiClocksMonotonicClock,
  'wasi:http/outgoing-handler@0.2.3': typeof WasiHttpOutgoingHandler,
  'wasi:http/types@0.2.3': typeof WasiHttpTypes,
  'wasi:io/error@0.2.3': typeof WasiIoError,
  'wasi:io/poll@0.2.3': typeof WasiIoPoll,
  'wasi:io/streams@0.2.3': typeof WasiIoStreams,
}
export interface PythonRunner {
  /**
  * `source` is the task's files as JSON ({"entry": path, "files": {path: text}}); `request` and the reply as for
  * `runner` (one host path reads both runners' replies).
  */
  run(source: string, request: string): Uint8Array,
}

/**
* Instantiates this component with the provided imports and
* returns a map of all the exports of the component.
*
* This function is intended to be similar to the
* `WebAssembly.Instantiate` constructor. The second `imports`
* argument is the "import object" for wasm, except here it
* uses component-model-layer types instead of core wasm
* integers/numbers/etc.
*
* The first argument to this function, `getCoreModule`, is
* used to compile core wasm modules within the component.
* Components are composed of core wasm modules and this callback
* will be invoked per core wasm module. The caller of this
* function is responsible for reading the core wasm module
* identified by `path` and returning its compiled
* `WebAssembly.Module` object. This would use the
* `WebAssembly.Module` constructor on the web, for example.
*/
export function instantiate(
getCoreModule: (path: string) => WebAssembly.Module,
imports: ImportObject,
instantiateCore?: (module: WebAssembly.Module, imports: Record<string, any>) => WebAssembly.Instance
): PythonRunner;

