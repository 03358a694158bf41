/**
 * Where sub-task calls land. A guest's `fetch` to the internal sub-task host is re-addressed by the thread's HTTP
 * import to this loopback endpoint with the calling run's secret token; the token maps to the parent run's
 * context here, so the child runs the same bundle with the options its file declares and nothing else.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBoundedJson } from './bounded-json.js';
import type { Envelope } from './envelope.js';

export type SubtaskHandler = (taskName: string, args: unknown[]) => Promise<Envelope>;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_TASK_NAME_CHARS = 256;

export class SubtaskServer {
  private readonly handlers = new Map<string, SubtaskHandler>();

  private constructor(private readonly server: http.Server, readonly authority: string) {}

  static async start(): Promise<SubtaskServer> {
    let instance: SubtaskServer | undefined;
    // A request is the guest's: whatever it holds, it gets an answer and the host carries on.
    const server = http.createServer((req, res) => {
      instance!.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('the sub-task failed inside the host');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const { port } = server.address() as AddressInfo;
    instance = new SubtaskServer(server, `127.0.0.1:${port}`);
    return instance;
  }

  /** Opens a token for one running guest; the returned function closes it. */
  register(handler: SubtaskHandler): { token: string; close: () => void } {
    const token = randomBytes(24).toString('hex');
    this.handlers.set(token, handler);
    return { token, close: () => this.handlers.delete(token) };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain' });
      res.end(body);
    };
    const match = /^\/subtask\/([0-9a-f]{48})\/([^/?]{1,1024})$/.exec(req.url ?? '');
    const handler = match ? this.handlers.get(match[1]!) : undefined;
    if (!match || !handler || req.method !== 'POST') return reply(403, 'unknown or finished run');
    let name: string;
    try {
      name = decodeURIComponent(match[2]!);
    } catch {
      return reply(400, 'the sub-task name is not valid percent-encoding');
    }
    if (name.length > MAX_TASK_NAME_CHARS) return reply(400, `the sub-task name is longer than ${MAX_TASK_NAME_CHARS} characters`);
    // Bytes are collected and decoded once: decoding chunk by chunk would garble a character split between two.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return reply(413, `sub-task arguments exceed ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
    const body = parseBoundedJson(Buffer.concat(chunks, size).toString('utf8'), { maxChars: MAX_BODY_BYTES });
    if (!body.ok) return reply(400, `sub-task arguments cannot be read: ${body.reason}`);
    const args = typeof body.value === 'object' && body.value !== null ? (body.value as { args?: unknown }).args : undefined;
    if (!Array.isArray(args)) return reply(400, 'sub-task arguments must be {"args": [...]}');
    reply(200, JSON.stringify(await handler(name, args)));
  }
}
