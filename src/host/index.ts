/** The host API (src/host): what `import { Capsule } from 'capsule'` gives application code. */
export { Capsule, type ConnectOptions, type ExecOptions, type PipelineDefinition, type StartOptions } from './capsule.js';
export { RunHandle, type RunEvent, type RunResult } from './run-handle.js';
export { ClosedError, ExecOptionsError, ProgramError } from './errors.js';
