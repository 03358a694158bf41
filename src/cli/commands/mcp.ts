/**
 * `capsule mcp`: the MCP server (src/mcp/), over stdio by default or Streamable HTTP with --http, until its client
 * closes stdin or the process gets SIGINT/SIGTERM. Everything it logs goes to stderr: under stdio, stdout carries
 * the protocol only.
 */
import { openMcpContext } from '../../mcp/context.js';
import { resolveMcpSettings, type McpFlags } from '../../mcp/settings.js';
import { serveHttp, serveStdio } from '../../mcp/transports.js';
import { EXIT, userErrorMessage } from '../exit-codes.js';
import { interruptFor, processIo, type CommandIo } from '../io.js';
import { forTerminal } from '../terminal-text.js';

export async function mcpCommand(flags: McpFlags, io: CommandIo = processIo()): Promise<number> {
  let settings;
  try {
    settings = resolveMcpSettings(flags, io.cwd);
  } catch (error) {
    const message = userErrorMessage(error);
    if (message === undefined) throw error;
    io.err(`capsule mcp: ${forTerminal(message)}`);
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
