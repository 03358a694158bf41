/**
 * One MCP server (one per connection) over the shared context: its tools and the instructions clients show the
 * model. The tools are the contract: execute_javascript, execute_python, the four session tools, run_pipeline and
 * get_run.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpContext } from './context.js';
import { registerExecuteTools } from './tools/execute.js';
import { registerPipelineTools } from './tools/pipeline-tools.js';
import { registerSessionTools } from './tools/session-tools.js';

export const SERVER_NAME = 'capsule';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Capsule runs code in fresh, isolated WebAssembly sandboxes: execute_javascript and execute_python.',
  'Each call starts from nothing (no variables, imports or memory survive it); pass `session` to keep files between calls in ./workspace/, and manage them with session_files, session_read, session_write and session_reset.',
  'Code gets no network, no host files and little compute unless this server allows more; every call may ask for less than the server allows (limits), never more.',
  'run_pipeline starts a durable multi-step pipeline on Temporal; get_run reports on it.',
].join(' ');

export function createMcpServer(context: McpContext): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { instructions: INSTRUCTIONS });
  registerExecuteTools(server, context);
  registerSessionTools(server, context);
  registerPipelineTools(server, context);
  return server;
}
