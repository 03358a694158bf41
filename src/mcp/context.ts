/**
 * What every MCP connection of one `capsule mcp` process shares: its settings, one Sandbox (a warm thread pool),
 * the session store and the pipeline service. HTTP clients get one McpServer each, all over this one context, so
 * sessions and the Temporal connection are the server's, not a connection's.
 */
import { Sandbox } from '../sandbox/index.js';
import { PipelineService } from './pipelines.js';
import { SessionStore } from './sessions.js';
import type { McpSettings } from './settings.js';

export interface McpContext {
  settings: McpSettings;
  sandbox: Sandbox;
  sessions: SessionStore;
  pipelines: PipelineService;
  /** One line for the operator (stderr: stdout is the protocol's under stdio). */
  log(line: string): void;
}

export async function openMcpContext(settings: McpSettings, log: (line: string) => void): Promise<McpContext & { close(): Promise<void> }> {
  const sandbox = await Sandbox.create({
    outputCapBytes: settings.maxOutputBytes,
    report: (line) => log(line),
    secrets: { env: process.env, dir: settings.directory },
  });
  // Python loads in the background: the first execute_python call should not wait for it, nor the server's start.
  sandbox.load('python').catch((error: unknown) => log(`the Python runtime is not available: ${error instanceof Error ? error.message : String(error)}`));
  const sessions = new SessionStore(settings.directory, settings.sessions);
  const pipelines = new PipelineService(settings, sandbox, log);
  return {
    settings,
    sandbox,
    sessions,
    pipelines,
    log,
    async close() {
      await pipelines.close();
      await sandbox.close();
    },
  };
}
