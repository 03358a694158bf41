/**
 * The `capsule` package's main entry: the task-authoring API (`task`, `context`: src/sdk) and the host API
 * (`Capsule`: src/host). Workflow files import `capsule/workflow`; workers `capsule/worker`.
 */
export * from './sdk/index.js';
export { default } from './sdk/index.js';
export * from './host/index.js';
export type { Envelope, ProgramSource, ProgramOptions, ProgramLanguage } from './sandbox/index.js';
export { BundleError } from './sandbox/index.js';
export { ServerUnreachableError, UnknownWorkflowTypeError, WorkflowsFileError, ConnectionConfigError } from './client/errors.js';
