/** The sandbox's public surface: everything outside src/sandbox imports from here only. */
export { Sandbox } from './sandbox.js';
export type { SandboxOptions, RunRequest, RunProgress } from './sandbox.js';
export { bundleTaskFile, BundleError } from './bundle.js';
export type { TaskBundle } from './bundle.js';
export * from './envelope.js';
