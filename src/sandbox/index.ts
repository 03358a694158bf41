/**
 * The sandbox's public surface: code outside src/sandbox imports from here. (Workflow code and the SDK import
 * only types from envelope.ts: they must never load the sandbox itself.)
 */
export { Sandbox } from './sandbox.js';
export { BundleError, SandboxBusyError } from './errors.js';
export type { SandboxOptions, RunRequest } from './sandbox.js';
export type { RunProgress } from './run-progress.js';
export type { TaskContext } from './guest/protocol.js';
export { bundleTaskFile, taskLanguage } from './bundle.js';
export type { TaskBundle } from './bundle.js';
export * from './envelope.js';
export { invalidTaskEnvelope } from './outcome.js';
export { loadRuntime } from './runtime/runtime.js';
export type { Runtime } from './runtime/runtime.js';
export { LANGUAGE_NAMES, type Language } from './runtime/manifest.js';
export { jsonValueProblem, MAX_JSON_DEPTH } from './bounded-json.js';
