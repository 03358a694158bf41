// world capsule:sandbox/runner@0.1.0
import type * as CapsuleSandboxHost from './interfaces/capsule-sandbox-host.js'; // capsule:sandbox/host@0.1.0
export interface ImportObject {
  'capsule:sandbox/host@0.1.0': typeof CapsuleSandboxHost,
}
export interface Runner {
  /**
  * Evaluates a host-bundled task script and runs one of its tasks (or lists them, in "describe" mode). The reply
  * (ok) or failure report (err) is JSON in UTF-8 bytes, not a `string`: componentize-js lowers a string returned by
  * the guest in interpreted JavaScript, one character at a time (~3,000 wasm instructions a byte, all of them the
  * task's fuel), where bytes the guest encodes natively are one copy.
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
): Runner;

