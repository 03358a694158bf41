/**
 * The sandbox's public surface: code outside src/sandbox imports from here. (Workflow code and the SDK import
 * only types from envelope.ts: they must never load the sandbox itself.)
 */
export { Sandbox } from './sandbox.js';
export { BundleError, DirectoryAccessError, SandboxBusyError } from './errors.js';
export type { SandboxOptions, RunRequest } from './sandbox.js';
export type { RunProgress } from './run-progress.js';
export type { ObservedRun, PoolStats, RunObserver, RunWatch } from './observer.js';
export type { TaskContext } from './guest/protocol.js';
export { bundleTaskFile } from './bundle.js';
export { taskLanguage } from './task-language.js';
export { BundleCache } from './bundle-cache.js';
export type { TaskBundle, ProgramRecord, ProgramLanguage } from './bundle.js';
export { PROGRAM_LANGUAGES } from './bundle.js';
export { bundleSource, resolveProgramOptions, MAX_PROGRAM_BYTES, type ProgramBundle, type ProgramOptions, type ProgramSource } from './source-program.js';
export type { WithoutMain } from './guest/protocol.js';
export * from './envelope.js';
export { invalidTaskEnvelope } from './outcome.js';
export { loadRuntime } from './runtime/runtime.js';
export type { Runtime } from './runtime/runtime.js';
export { LANGUAGE_NAMES, type Language } from './runtime/manifest.js';
export { jsonValueProblem, MAX_JSON_DEPTH } from './bounded-json.js';
export { DirectoryQuota, type QuotaLimits } from './directory-quota.js';
export { HostDirectory, type DirectoryEntry } from './host-directory.js';
