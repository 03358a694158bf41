/**
 * `capsule/worker`: Capsule on a worker of your own. `CapsulePlugin` for `Worker.create({ plugins: [...] })`, or
 * `createCapsuleWorker({ workflowsPath })` for the common case (connection and task queue as the CLI resolves them).
 */
export { CapsulePlugin, type CapsulePluginOptions } from './plugin.js';
export { createCapsuleWorker, type CreateCapsuleWorkerOptions } from './create.js';
export { workflowBundle, type WorkflowBundleOptions } from '../client/workflow-bundle.js';
