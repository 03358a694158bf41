/** Every workflow the worker registers. Workflow code only: no Node built-ins below this folder. */
export { pipeline } from './pipeline.js';
export { reviewLoop } from './review-loop.js';
export { agentLoop } from './agent-loop.js';
export { codingAgent } from './coding-agent.js';
