/**
 * `capsule mcp`: the MCP server (src/mcp/), over stdio by default or Streamable HTTP with --http, until its client
 * closes stdin or the process gets SIGINT/SIGTERM. Everything it logs goes to stderr: under stdio, stdout carries
 * the protocol only.
 */
import { interruptFor, processIo, type CommandIo } from '../../client/io.js';
import { forTerminal } from '../../client/terminal-text.js';
import { openMcpContext } from '../../mcp/context.js';
import { McpSettingsError, resolveMcpSettings, type McpFlags } from '../../mcp/settings.js';
import { serveHttp, serveStdio } from '../../mcp/transports.js';
import { EXIT } from '../io.js';

export async function mcpCommand(flags: McpFlags, io: CommandIo = processIo()): Promise<number> {
  let settings;
  try {
    settings = resolveMcpSettings(flags, io.cwd);
  } catch (error) {
    if (!(error instanceof McpSettingsError || (error instanceof Error && error.name === 'ConfigError'))) throw error;
    io.err(`capsule mcp: ${forTerminal(error.message)}`);
    return EXIT.usage;
  }
  const log = (line: string) => io.err(`capsule mcp: ${line}`);
  if (settings.http === undefined) {
    // Under stdio, stdout is the protocol's: anything a library prints there would corrupt it.
    console.log = console.error;
    console.info = console.error;
  }
  const interrupt = interruptFor(io);
  const context = await openMcpContext(settings, log);
  try {
    if (settings.http !== undefined) {
      const server = await serveHttp(context, settings.http);
      log(`listening on ${server.url} (Streamable HTTP); Ctrl-C stops`);
      await interrupt.promise;
      await server.close();
    } else {
      const { closed } = await serveStdio(context);
      await Promise.race([closed, interrupt.promise]);
    }
    return EXIT.ok;
  } finally {
    interrupt.dispose();
    await context.close();
  }
}
