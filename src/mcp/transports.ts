/**
 * How clients reach the server: stdio (one client: the process that started it), or Streamable HTTP on a loopback
 * address, one MCP server per client session (`mcp-session-id`), all over one shared context.
 *
 * HTTP checks what the SDK leaves to middleware: the Host header must name the loopback address it listens on and
 * an Origin, when a browser sends one, must be a loopback origin — so a web page cannot reach the server through DNS
 * rebinding. Client sessions that go quiet are closed after IDLE_MS; at most MAX_CLIENTS are open at once.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpContext } from './context.js';
import { createMcpServer } from './server.js';

export const MCP_PATH = '/mcp';
const MAX_CLIENTS = 64;
const IDLE_MS = 30 * 60_000;
/** The largest request either transport reads (a session_write of a few MB of base64 fits). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** Serves one client on stdin/stdout until stdin ends (the client closed it). */
export async function serveStdio(context: McpContext): Promise<{ closed: Promise<void> }> {
  const transport = new StdioServerTransport(process.stdin, process.stdout, { maxBufferSize: MAX_REQUEST_BYTES });
  const server = createMcpServer(context);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  transport.onerror = (error) => context.log(`stdio: ${error.message}`);
  await server.connect(transport);
  return { closed: closed.then(() => server.close()) };
}

interface Client {
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
}

export async function serveHttp(context: McpContext, address: { host: string; port: number }): Promise<{ url: string; close(): Promise<void> }> {
  const clients = new Map<string, Client>();
  let port = address.port;
  const shownHost = address.host.includes(':') ? `[${address.host}]` : address.host;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== MCP_PATH) return reply(response, 404, `not found: the MCP endpoint is ${MCP_PATH}`);
    if (!isLoopbackHost(request.headers.host, port) || !isLoopbackOrigin(request.headers.origin, port)) {
      return reply(response, 403, 'forbidden: only loopback hosts and origins may use this server');
    }
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const client = clients.get(sessionId);
      if (client === undefined) return reply(response, 404, 'unknown or expired session: initialize again');
      client.lastSeen = Date.now();
      return client.transport.handleRequest(request, response);
    }
    if (request.method !== 'POST') return reply(response, 400, 'no mcp-session-id: start with an initialize request');
    const body = await readJson(request);
    if (!body.ok) return reply(response, body.status, body.message);
    if (!isInitializeRequest(body.value)) return reply(response, 400, 'no mcp-session-id: start with an initialize request');
    if (clients.size >= MAX_CLIENTS) return reply(response, 503, `this server has ${MAX_CLIENTS} client sessions open: close one (DELETE) or try later`);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      maxRequestBodySize: MAX_REQUEST_BYTES,
      onsessioninitialized: (id) => void clients.set(id, { transport, lastSeen: Date.now() }),
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) clients.delete(transport.sessionId);
    };
    await createMcpServer(context).connect(transport);
    await transport.handleRequest(request, response, body.value);
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      context.log(`http: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) reply(response, 500, 'internal error');
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const sweep = setInterval(() => {
    for (const [id, client] of clients) {
      if (Date.now() - client.lastSeen > IDLE_MS) {
        clients.delete(id);
        void client.transport.close();
      }
    }
  }, 60_000);
  sweep.unref();
  return {
    url: `http://${shownHost}:${port}${MCP_PATH}`,
    async close() {
      clearInterval(sweep);
      await Promise.all([...clients.values()].map((client) => client.transport.close()));
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host !== undefined && LOOPBACK_NAMES.some((name) => host === `${name}:${port}`);
}

function isLoopbackOrigin(origin: string | undefined, port: number): boolean {
  return origin === undefined || LOOPBACK_NAMES.some((name) => origin === `http://${name}:${port}`);
}

/** A JSON-RPC error body, as the SDK's transport answers malformed requests. */
function reply(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function readJson(request: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return { ok: false, status: 413, message: `the request body is larger than ${MAX_REQUEST_BYTES} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { ok: false, status: 400, message: 'the request body is not JSON' };
  }
}
